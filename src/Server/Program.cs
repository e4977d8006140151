using DesMoe.Server;
using DesMoe.Server.Jobs;
using DesMoe.Server.Serving;

if (args is [AdaptationWorker.Command, var request]) return AdaptationWorker.Run(request);
try
{
    await ServerApp.Build(args).RunAsync();
    return 0;
}
catch (NoServableVersionException e)
{
    Console.Error.WriteLine($"desmoe server: {e.Message}");
    return 1;
}
