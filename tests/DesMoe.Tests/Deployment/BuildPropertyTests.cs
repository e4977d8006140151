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
    [InlineData("UseOnnxRuntimeGpu", "Microsoft.ML.OnnxRuntime.Gpu", "Microsoft.ML.OnnxRuntime")]
    [InlineData("UseTorchSharpCuda", "TorchSharp-cuda-linux", "libtorch-cpu-linux-x64")]
    public void Each_gpu_property_swaps_the_cpu_package_for_the_gpu_one_of_a_pinned_version(string property, string gpuPackage, string cpuPackage)
    {
        var references = PackageReferences("src/Core/DesMoe.Core.csproj").ToList();
        Assert.Equal($"'$({property})' == 'true'", references.Single(r => (string?)r.Attribute("Include") == gpuPackage).Attribute("Condition")?.Value);
        Assert.Equal($"'$({property})' != 'true'", references.Single(r => (string?)r.Attribute("Include") == cpuPackage).Attribute("Condition")?.Value);
        var versions = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(v => (string)v.Attribute("Include")!, v => (string)v.Attribute("Version")!);
        Assert.True(versions.ContainsKey(gpuPackage), $"{gpuPackage} has no PackageVersion");
        if (property == "UseOnnxRuntimeGpu") Assert.Equal(versions[cpuPackage], versions[gpuPackage]);
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
