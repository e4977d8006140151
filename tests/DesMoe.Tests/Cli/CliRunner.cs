using DesMoe.Tests.Support;
using System.Diagnostics;

namespace DesMoe.Tests.Cli;

/// <summary>Runs the real <c>desmoe</c> CLI, or the <c>desmoe-bench</c> benchmarks, as built, as a child process against a server.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Task<Result> RunAsync(string address, string? adminToken, params string[] args) =>
        Run(Built("clients/cli", "desmoe.dll"), address, adminToken, args);

    public static Task<Result> BenchAsync(string address, string? adminToken, params string[] args) =>
        Run(Built("bench/DesMoe.Bench", "desmoe-bench.dll"), address, adminToken, args);

    /// <summary>
    /// The program in its own build output, with its own deps.json and runtimeconfig.json: the CLI runs on the .NET
    /// runtime alone, so beside the tests (which carry ASP.NET Core's shared framework) it would miss its own copies.
    /// </summary>
    private static string Built(string project, string assembly) =>
        Path.Combine(Repository.Root, project, "bin", Repository.Configuration, "net10.0", assembly);

    private static async Task<Result> Run(string program, string address, string? adminToken, string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(program);
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
