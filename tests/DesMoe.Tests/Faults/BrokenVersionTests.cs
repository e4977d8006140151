using System.Text.Json.Nodes;
using DesMoe.Protos.V1;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Faults;

/// <summary>A current version that does not load: the server serves the newest one that does, says which is broken and why, and only gives up when none loads.</summary>
public sealed class BrokenVersionTests
{
    public enum Damage { TruncatedOnnx, MissingOnnx, CorruptRecord }

    [Theory]
    [InlineData(Damage.TruncatedOnnx)]
    [InlineData(Damage.MissingOnnx)]
    [InlineData(Damage.CorruptRecord)]
    public async Task A_broken_current_version_is_marked_and_the_newest_loadable_one_serves(Damage damage)
    {
        using var data = new TempDirectory();
        await (await LoopbackServer.StartAsync(data.Path)).DisposeAsync(); // creates v0001, the base version
        var versions = Path.Combine(StoreOnDisk.Root(data.Path), "versions");
        // v0002 and v0003: copies of the base, as jobs would have written them; current names v0003, which is then damaged.
        foreach (var id in new[] { "v0002", "v0003" }) CopyVersion(versions, "v0001", id);
        File.WriteAllText(Path.Combine(StoreOnDisk.Root(data.Path), "current"), "v0003");
        var broken = Path.Combine(versions, "v0003");
        switch (damage)
        {
            case Damage.TruncatedOnnx:
                var onnx = Path.Combine(broken, "onnx", "model.onnx");
                File.WriteAllBytes(onnx, File.ReadAllBytes(onnx)[..4096]);
                break;
            case Damage.MissingOnnx:
                File.Delete(Path.Combine(broken, "onnx", "model.onnx"));
                break;
            case Damage.CorruptRecord:
                File.WriteAllText(Path.Combine(broken, "version.json"), "{\"id\": \"v0003\", \"onn");
                break;
        }

        await using var server = await ServerProcess.StartAsync(data.Path);
        var listed = (await server.Admin.ListModelVersionsAsync(new ListModelVersionsRequest())).Versions.ToDictionary(v => v.Id);
        Assert.Equal(["v0001", "v0002", "v0003"], listed.Keys.Order());
        Assert.True(listed["v0002"].Serving, "the newest version that loads serves");
        Assert.NotEmpty(listed["v0003"].LoadError);
        Assert.True(listed["v0003"].Current);
        Assert.False(listed["v0003"].Serving);
        Assert.Empty(listed["v0002"].LoadError);
        Assert.Equal("v0002", (await server.Client.GetModelInfoAsync(new GetModelInfoRequest())).ModelVersion);
        Assert.Equal("olleh", (await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse hello" })).Text);
        Assert.Contains("v0003", server.Output); // logged as an error

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"{server.MetricsAddress}/metrics");
        Assert.Contains("desmoe_model_broken{", metrics);
        Assert.Matches("desmoe_model_broken\\{[^}]*version=\"v0003\"[^}]*\\} 1", metrics);

        var rollback = await Assert.ThrowsAsync<RpcException>(() => server.Admin.RollbackAsync(new RollbackRequest { Version = "v0003" }, LoopbackServer.AsAdmin()).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, rollback.StatusCode);
        Assert.Contains("v0003", rollback.Status.Detail);
    }

    [Fact]
    public async Task When_no_version_loads_the_server_exits_with_one_clear_line()
    {
        using var data = new TempDirectory();
        await (await LoopbackServer.StartAsync(data.Path)).DisposeAsync();
        var onnx = Path.Combine(StoreOnDisk.Root(data.Path), "versions", "v0001", "onnx", "model.onnx");
        File.WriteAllBytes(onnx, File.ReadAllBytes(onnx)[..4096]);

        await using var server = ServerProcess.Launch(data.Path);
        int exitCode = await server.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, exitCode);
        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var verdict = Assert.Single(lines, l => l.StartsWith("desmoe server:", StringComparison.Ordinal));
        Assert.Contains("no model version", verdict);
        Assert.Contains("v0001", verdict);
        Assert.DoesNotContain(lines, l => l.StartsWith("Unhandled exception", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("deepseek_v2", "deepseek_v2: every layer is dense")]
    [InlineData("missing", "holds neither model.onnx nor model.safetensors")]
    public async Task A_model_the_server_cannot_take_fails_start_up_with_one_line_naming_it(string model, string expected)
    {
        using var data = new TempDirectory();
        var path = model == "missing" ? data.File("nothing-here") : data.File(model);
        if (model != "missing")
        {
            // A DeepSeek-V2 whose every layer is dense: no MoE layer to adapt or route, which the trainable form refuses.
            Architectures.HubFixtures.CopyFolder(model, path);
            var config = Path.Combine(path, "config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"first_k_dense_replace\": 1", "\"first_k_dense_replace\": 3"));
        }

        await using var server = ServerProcess.Launch(data.Path, null, $"--DesMoe:ModelPath={path}");
        int exitCode = await server.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(1, exitCode);
        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var verdict = Assert.Single(lines, l => l.StartsWith("desmoe server:", StringComparison.Ordinal));
        Assert.Contains(expected, verdict);
        Assert.DoesNotContain(lines, l => l.StartsWith("Unhandled exception", StringComparison.Ordinal));
    }

    private static void CopyVersion(string versions, string from, string to)
    {
        var target = Path.Combine(versions, to);
        foreach (var file in Directory.GetFiles(Path.Combine(versions, from), "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(Path.Combine(versions, from), file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
        var record = JsonNode.Parse(File.ReadAllText(Path.Combine(target, "version.json")))!;
        record["id"] = to;
        record["parent"] = from;
        File.WriteAllText(Path.Combine(target, "version.json"), record.ToJsonString());
    }
}
