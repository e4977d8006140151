using DesMoe.Server;

await ServerApp.Build(args).RunAsync();
