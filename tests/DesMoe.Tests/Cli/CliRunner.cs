using DesMoe.Tests.Support;
using System.Diagnostics;

namespace DesMoe.Tests.Cli;

/// <summary>Runs the real <c>desmoe</c> CLI (built next to the tests) as a child process against a server.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(string address, string? adminToken, params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "desmoe.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DESMOE_ADDRESS"] = address;
        start.Environment["DESMOE_ADMIN_TOKEN"] = adminToken ?? "";
        start.Environment["HOME"] = Path.GetTempPath(); // no token file from a developer's own server
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await output, await error);
    }
}
