using DesMoe.Server;
using DesMoe.Server.Serving;

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
