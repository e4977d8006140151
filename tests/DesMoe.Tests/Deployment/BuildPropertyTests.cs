using System.Text.RegularExpressions;
using System.Xml.Linq;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Deployment;

/// <summary>The Dockerfile cannot be built here (no Docker engine); these check that what it relies on exists.</summary>
public class BuildPropertyTests
{
    private static readonly string Root = Repository.Root;

    private static IEnumerable<XElement> PackageReferences(string project) =>
        XDocument.Load(Path.Combine(Root, project)).Descendants("PackageReference");

    private static string Dockerfile => File.ReadAllText(Path.Combine(Root, "Dockerfile"));

    [Theory]
    [InlineData("src/Onnx/DesMoe.Onnx.csproj", "UseOnnxRuntimeGpu", "Microsoft.ML.OnnxRuntime.Gpu", "Microsoft.ML.OnnxRuntime")]
    [InlineData("build/LibTorchRuntime.targets", "UseTorchSharpCuda", "TorchSharp-cuda-linux", "libtorch-cpu-linux-x64")]
    public void Each_gpu_property_swaps_the_cpu_package_for_the_gpu_one_of_a_pinned_version(string file, string property, string gpuPackage, string cpuPackage)
    {
        var references = PackageReferences(file).ToList();
        Assert.Equal($"'$({property})' == 'true'", references.Single(r => (string?)r.Attribute("Include") == gpuPackage).Attribute("Condition")?.Value);
        Assert.Equal($"'$({property})' != 'true'", references.Single(r => (string?)r.Attribute("Include") == cpuPackage).Attribute("Condition")?.Value);
        var versions = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(v => (string)v.Attribute("Include")!, v => (string)v.Attribute("Version")!);
        Assert.True(versions.ContainsKey(gpuPackage), $"{gpuPackage} has no PackageVersion");
        if (property == "UseOnnxRuntimeGpu") Assert.Equal(versions[cpuPackage], versions[gpuPackage]);
    }

    [Fact]
    public void Libtorch_reaches_only_the_projects_that_run_torchsharp_and_the_server_is_not_one()
    {
        // DesMoe.Torch compiles against TorchSharp without its natives, on every reference that reaches TorchSharp (NuGet unions the paths).
        foreach (var torch in PackageReferences("src/Torch/DesMoe.Torch.csproj").Where(r => ((string?)r.Attribute("Include"))!.StartsWith("TorchSharp", StringComparison.Ordinal)))
            Assert.Equal("native", (string?)torch.Attribute("ExcludeAssets"));
        Assert.DoesNotContain(PackageReferences("src/Torch/DesMoe.Torch.csproj"), r => ((string?)r.Attribute("Include"))!.StartsWith("libtorch", StringComparison.Ordinal));
        var runtime = XDocument.Load(Path.Combine(Root, "build/LibTorchRuntime.targets")).Descendants("ItemGroup").Single();
        Assert.Equal("'$(DesMoeRunsTorchSharp)' == 'true'", (string?)runtime.Attribute("Condition"));

        foreach (var project in (string[])["src/Worker/DesMoe.Worker.csproj", "clients/cli/DesMoe.Cli.csproj", "bench/DesMoe.Bench/DesMoe.Bench.csproj", "tests/DesMoe.Tests/DesMoe.Tests.csproj"])
            Assert.Equal("true", XDocument.Load(Path.Combine(Root, project)).Descendants("DesMoeRunsTorchSharp").Single().Value);
        var server = XDocument.Load(Path.Combine(Root, "src/Server/DesMoe.Server.csproj"));
        Assert.Empty(server.Descendants("DesMoeRunsTorchSharp"));
        var references = server.Descendants("ProjectReference").ToList();
        Assert.DoesNotContain(references, r => ((string)r.Attribute("Include")!).Contains("Trainer", StringComparison.Ordinal));
        // The worker is built with the server (development) but nothing of it is referenced.
        var worker = references.Single(r => ((string)r.Attribute("Include")!).EndsWith("DesMoe.Worker.csproj", StringComparison.Ordinal));
        Assert.Equal("false", (string?)worker.Attribute("ReferenceOutputAssembly"));
        Assert.Equal("all", (string?)worker.Attribute("ExcludeAssets"));
    }

    [Fact]
    public void The_dockerfile_publishes_the_server_with_the_gpu_property_on_a_cuda_13_base_as_a_non_root_user()
    {
        var dockerfile = Dockerfile;
        Assert.Contains("dotnet publish src/Server/DesMoe.Server.csproj -c Release -r linux-x64 --self-contained false -p:UseOnnxRuntimeGpu=true", dockerfile);
        Assert.Matches(new Regex(@"ARG CUDA_IMAGE=nvidia/cuda:13\.\d+\.\d+-"), dockerfile);
        Assert.Matches(new Regex(@"^USER desmoe$", RegexOptions.Multiline), dockerfile);
        Assert.Contains("HEALTHCHECK", dockerfile);
        Assert.Contains("VOLUME /data", dockerfile);
        foreach (var path in Regex.Matches(dockerfile, @"(src|clients)/[\w/.]+\.csproj").Select(m => m.Value))
            Assert.True(File.Exists(Path.Combine(Root, path)), $"the Dockerfile names {path}, which does not exist");
        var settings = File.ReadAllText(Path.Combine(Root, "src/Server/appsettings.json"));
        foreach (var key in Regex.Matches(dockerfile, @"Kestrel__Endpoints__(\w+)__Url").Select(m => m.Groups[1].Value))
            Assert.Contains($"\"{key}\"", settings);
    }

    [Fact]
    public void The_dockerfile_builds_a_serving_image_without_the_worker_and_a_default_adaptation_image_with_it()
    {
        var dockerfile = Dockerfile;
        var stages = Regex.Matches(dockerfile, @"^FROM \S+ AS (\S+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal("adaptation", stages[^1]); // the default target: `docker build .` keeps adding domains
        Assert.Contains("serving", stages);
        string Stage(string name) => Regex.Match(dockerfile, $@"^FROM \S+ AS {name}$(.*?)(?=^FROM |\z)", RegexOptions.Multiline | RegexOptions.Singleline).Groups[1].Value;

        // The server is published without building the worker; the worker separately, for linux-x64, into the adaptation image only.
        Assert.Contains("-p:DesMoeBundleWorker=false -o /out/server", Stage("build"));
        Assert.Contains("dotnet publish src/Worker/DesMoe.Worker.csproj -c Release -r linux-x64", Stage("worker"));
        Assert.Contains("COPY --from=worker /out/worker /app/worker", Stage("adaptation"));
        Assert.DoesNotContain("worker", Stage("serving"));
        // The serving image cannot export a model folder, so it serves the bundled model's export.
        var modelPath = Regex.Match(Stage("serving"), @"DesMoe__ModelPath=(\S+)").Groups[1].Value;
        Assert.Contains($"/out/base-onnx {modelPath}", Stage("serving"));
        // /app/worker is where the server looks by default (Jobs/WorkerLocator.cs).
        Assert.Equal("worker", DesMoe.Server.Jobs.WorkerLocator.FolderName);
    }
}
