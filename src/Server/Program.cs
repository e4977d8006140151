using DesMoe.Server;
using DesMoe.Server.Jobs;

if (args is [AdaptationWorker.Command, var request]) return AdaptationWorker.Run(request);
await ServerApp.Build(args).RunAsync();
return 0;
