using DesMoe.Tests.Support;
using System.Diagnostics;

namespace DesMoe.Tests.Cli;

/// <summary>Runs the real <c>desmoe</c> CLI, or the <c>desmoe-bench</c> benchmarks (both built next to the tests), as a child process against a server.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Task<Result> RunAsync(string address, string? adminToken, params string[] args) => Run("desmoe.dll", address, adminToken, args);

    public static Task<Result> BenchAsync(string address, string? adminToken, params string[] args) => Run("desmoe-bench.dll", address, adminToken, args);

    private static async Task<Result> Run(string program, string address, string? adminToken, string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, program));
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
