using DesMoe.Build;
using DesMoe.Formats.Files;
using DesMoe.Formats.Data;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Protos.V1;
using DesMoe.Tests.Faults;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Deployment;

/// <summary>
/// The two deployments (docs/deploy.md): the server's publish output serves without the trainer, TorchSharp's
/// natives or libtorch; the worker's publish output carries them. Both publish the binaries of this test run.
/// </summary>
public sealed class ServingOnlyPublishTests
{
    [Fact]
    public async Task The_server_publish_carries_no_libtorch_or_skiasharp_serves_an_export_and_refuses_AddDomain()
    {
        using var temp = new TempDirectory();
        var publish = temp.File("server");
        Repository.PublishBuilt("src/Server/DesMoe.Server.csproj", publish);

        var files = Directory.GetFiles(publish, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(publish, f)).ToList();
        Assert.Contains("DesMoe.Server.dll", files);
        // Natives of any platform: libtorch*.so, [lib]LibTorchSharp.*, and SkiaSharp's and HarfBuzzSharp's libraries (TorchSharp's managed
        // assembly references SkiaSharp's managed one, which loads its native library only when an image is drawn).
        var names = files.Select(Path.GetFileName).OfType<string>().ToList();
        Assert.DoesNotContain(names, n => n.StartsWith("libtorch", StringComparison.Ordinal) || n.Contains("LibTorchSharp", StringComparison.OrdinalIgnoreCase)
                                          || n.StartsWith("libSkiaSharp", StringComparison.Ordinal) || n.StartsWith("libHarfBuzzSharp", StringComparison.Ordinal) || n.StartsWith("libc10", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f.StartsWith("DesMoe.Worker.", StringComparison.Ordinal) || f.StartsWith("worker/", StringComparison.Ordinal) || f == "DesMoe.Trainer.dll");

        var export = temp.File("onnx");
        ModelExporter.Export(BundledModel.StringSkillsFolder, export, new ExportOptions());
        await using (var server = await StartPublished(publish, temp.File("data"), $"--DesMoe:ModelPath={export}"))
        {
            var reply = await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse hello" });
            Assert.Equal("olleh", reply.Text);

            var intent = DatasetSplit.Create(DomainCatalog.Get("intent"), 40, 8, seed: 3);
            var refused = await Assert.ThrowsAsync<RpcException>(() => server.Admin.AddDomainAsync("intent", intent.Train, intent.Eval, steps: 2));
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains("this deployment serves only: no adaptation worker at", refused.Status.Detail);
            Assert.Contains(Path.Combine(publish, "worker", "DesMoe.Worker.dll"), refused.Status.Detail);
            Assert.Equal("olleh", (await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse hello" })).Text); // still serving
        }

        // A model folder (here the bundled one, the default) needs an export first, which only the worker can make: a one-line refusal.
        await using var refusing = ServerProcess.LaunchAssembly(Path.Combine(publish, "DesMoe.Server.dll"), temp.File("data-model-folder"), null);
        Assert.Equal(1, await refusing.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("is a model folder, which the server exports to ONNX before serving it, and this deployment serves only", refusing.Output);
    }

    [Fact]
    public void The_worker_publish_carries_libtorch_and_the_patched_TorchSharp_bridge()
    {
        using var temp = new TempDirectory();
        var publish = temp.File("worker");
        // Hard links from the package cache: the 0.5 GB of libtorch need not be copied to be counted. The libstdc++ fix replaces
        // its file by rename, so it never writes through a link into the cache.
        Repository.PublishBuilt("src/Worker/DesMoe.Worker.csproj", publish, "CreateHardLinksForPublishFilesIfPossible=true");

        var names = Directory.GetFiles(publish, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.Contains("DesMoe.Worker.dll", names);
        Assert.Contains("libtorch_cpu.so", names);
        Assert.Contains("libLibTorchSharp.so", names);
        Assert.Contains("DesMoe.Trainer.dll", names);

        // The publish carries the libstdc++ fix (build/LibTorchSharpGlibcxxFix.targets): the bridge needs only versions this system has.
        const string systemLibrary = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (!File.Exists(systemLibrary)) return;
        var available = ElfVersionNeedPatcher.ReadVersionDefinitions(File.ReadAllBytes(systemLibrary));
        var bridge = Directory.GetFiles(publish, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        Assert.All(ElfVersionNeedPatcher.ReadVersionNeeds(File.ReadAllBytes(bridge)).Where(n => n.File == "libstdc++.so.6"), n => Assert.Contains(n.Version, available));
    }

    private static async Task<ServerProcess> StartPublished(string publish, string data, params string[] arguments)
    {
        var server = ServerProcess.LaunchAssembly(Path.Combine(publish, "DesMoe.Server.dll"), data, null, arguments);
        try
        {
            await server.WaitHealthyAsync(TimeSpan.FromMinutes(1));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }
}
