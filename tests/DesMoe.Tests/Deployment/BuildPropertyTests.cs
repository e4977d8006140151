using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace DesMoe.Tests.Deployment;

/// <summary>The Dockerfile cannot be built here (no Docker engine); these check that what it relies on exists.</summary>
public class BuildPropertyTests
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DesMoe.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("DesMoe.sln not found above the test binaries");
    }

    private static IEnumerable<XElement> PackageReferences(string project) =>
        XDocument.Load(Path.Combine(Root, project)).Descendants("PackageReference");

    [Theory]
    [InlineData("src/Core/DesMoe.Core.csproj", "UseOnnxRuntimeGpu", "Microsoft.ML.OnnxRuntime.Gpu", "Microsoft.ML.OnnxRuntime")]
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
        // Core compiles against TorchSharp without its natives, on every reference that reaches TorchSharp (NuGet unions the paths).
        foreach (var torch in PackageReferences("src/Core/DesMoe.Core.csproj").Where(r => ((string?)r.Attribute("Include"))!.StartsWith("TorchSharp", StringComparison.Ordinal)))
            Assert.Equal("native", (string?)torch.Attribute("ExcludeAssets"));
        Assert.DoesNotContain(PackageReferences("src/Core/DesMoe.Core.csproj"), r => ((string?)r.Attribute("Include"))!.StartsWith("libtorch", StringComparison.Ordinal));
        var runtime = XDocument.Load(Path.Combine(Root, "build/LibTorchRuntime.targets")).Descendants("ItemGroup").Single();
        Assert.Equal("'$(DesMoeRunsTorchSharp)' == 'true'", (string?)runtime.Attribute("Condition"));

        foreach (var project in (string[])["src/Worker/DesMoe.Worker.csproj", "clients/cli/DesMoe.Cli.csproj", "tests/DesMoe.Tests/DesMoe.Tests.csproj"])
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
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        Assert.Contains("dotnet publish src/Server/DesMoe.Server.csproj -c Release -p:UseOnnxRuntimeGpu=true", dockerfile);
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
}
