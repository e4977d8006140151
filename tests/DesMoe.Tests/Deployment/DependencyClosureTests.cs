using System.Text.Json;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Deployment;

/// <summary>
/// What each program carries, read from the build's own record of it (<c>*.deps.json</c>: every package and project in
/// the closure; <c>*.runtimeconfig.json</c>: the shared frameworks it needs) next to the built binaries the tests run.
/// The rule of docs/architecture.md: the runtime that executes the code decides its project, so the server carries no
/// TorchSharp and the user's CLI carries no server.
/// </summary>
public sealed class DependencyClosureTests
{
    private sealed record Closure(IReadOnlyList<string> Libraries, IReadOnlyList<string> Frameworks);

    private static Closure Read(string projectFolder, string assemblyName)
    {
        var bin = Path.Combine(Repository.Root, projectFolder, "bin", Repository.Configuration, "net10.0");
        var depsPath = Path.Combine(bin, assemblyName + ".deps.json");
        Assert.True(File.Exists(depsPath), $"{depsPath} is missing: the test run builds every project it references");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsPath));
        var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToList();
        var runtimeConfig = Path.Combine(bin, assemblyName + ".runtimeconfig.json");
        if (!File.Exists(runtimeConfig)) return new Closure(libraries, []); // a library
        using var runtime = JsonDocument.Parse(File.ReadAllText(runtimeConfig));
        var options = runtime.RootElement.GetProperty("runtimeOptions");
        var frameworks = options.TryGetProperty("frameworks", out var list)
            ? list.EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToList()
            : [options.GetProperty("framework").GetProperty("name").GetString()!];
        return new Closure(libraries, frameworks);
    }

    private static void AssertNone(Closure closure, string program, params string[] prefixes)
    {
        // A name, or the family it heads: TorchSharp covers TorchSharp.PyBridge and TorchSharp-cuda-linux.
        static bool Heads(string family, string library) =>
            library.Equals(family, StringComparison.OrdinalIgnoreCase)
            || library.StartsWith(family + ".", StringComparison.OrdinalIgnoreCase)
            || library.StartsWith(family + "-", StringComparison.OrdinalIgnoreCase);
        var found = closure.Libraries.Where(l => prefixes.Any(p => Heads(p, l))).ToList();
        Assert.True(found.Count == 0, $"{program} carries {string.Join(", ", found)}");
    }

    [Fact]
    public void The_server_carries_onnx_runtime_and_no_torchsharp_libtorch_exporter_or_trainer()
    {
        var server = Read("src/Server", "DesMoe.Server");
        AssertNone(server, "the server", "TorchSharp", "libtorch", "DesMoe.Torch", "DesMoe.Exporter", "DesMoe.Trainer", "DesMoe.Worker",
            "Microsoft.ML.OnnxRuntimeGenAI");
        Assert.DoesNotContain("desmoe", server.Libraries); // the CLI's assembly
        // The check has teeth: what the server does carry is in the same file.
        Assert.Contains("DesMoe.Onnx", server.Libraries);
        Assert.Contains("DesMoe.Formats", server.Libraries);
        Assert.Contains("Microsoft.ML.OnnxRuntime", server.Libraries);
        Assert.Contains("Microsoft.AspNetCore.App", server.Frameworks);
    }

    [Fact]
    public void The_cli_carries_no_server_no_kestrel_and_no_genai()
    {
        var cli = Read("clients/cli", "desmoe");
        AssertNone(cli, "the desmoe CLI", "DesMoe.Server", "DesMoe.Worker", "DesMoe.Bench", "Grpc.AspNetCore", "OpenTelemetry",
            "Microsoft.ML.OnnxRuntimeGenAI", "Microsoft.AspNetCore");
        Assert.DoesNotContain("Microsoft.AspNetCore.App", cli.Frameworks); // Kestrel ships in that shared framework
        Assert.Contains("DesMoe.Trainer", cli.Libraries);
        Assert.Contains("DesMoe.Protos", cli.Libraries);
    }

    [Theory]
    [InlineData("src/Formats", "DesMoe.Formats", "TorchSharp,Microsoft.ML.OnnxRuntime,DesMoe.Torch,DesMoe.Onnx")]
    [InlineData("src/Torch", "DesMoe.Torch", "Microsoft.ML.OnnxRuntime,DesMoe.Onnx")]
    [InlineData("src/Onnx", "DesMoe.Onnx", "TorchSharp,DesMoe.Torch")]
    public void Each_runtime_project_carries_only_its_own_runtime(string folder, string assembly, string forbidden)
    {
        var closure = Read(folder, assembly);
        AssertNone(closure, assembly, forbidden.Split(','));
        Assert.Contains(assembly, closure.Libraries);
    }

    [Fact]
    public void Only_the_benchmarks_hold_the_server_and_genai_beside_the_trainer()
    {
        var bench = Read("bench/DesMoe.Bench", "desmoe-bench");
        Assert.Contains("DesMoe.Server", bench.Libraries);
        Assert.Contains("Microsoft.ML.OnnxRuntimeGenAI", bench.Libraries);
        Assert.Contains("DesMoe.Trainer", bench.Libraries);
    }
}
