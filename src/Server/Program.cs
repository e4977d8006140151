using DesMoe.Server;
using DesMoe.Server.Versions;

try
{
    await ServerApp.Build(args).RunAsync();
    return 0;
}
catch (Exception e) when (e is NoServableVersionException or IOException or InvalidDataException or ArgumentException)
{
    // Start-up failures from configuration or the model given (a missing folder, an unsupported hub architecture, a
    // checkpoint that does not match its config): one line an operator can act on, not a stack trace.
    Console.Error.WriteLine($"desmoe server: {e.Message}");
    return 1;
}
