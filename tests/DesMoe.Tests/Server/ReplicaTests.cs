using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using DesMoe.Tests.Support;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Server;

public sealed class ReplicaTests
{
    [Fact]
    public async Task A_serving_only_replica_on_the_shared_store_follows_the_adapting_replicas_versions()
    {
        using var shared = new TempDirectory();
        await using var adapting = await LoopbackServer.StartAsync(shared.Path);
        await using var serving = await LoopbackServer.StartAsync(shared.Path, "--DesMoe:Adaptation:Enabled=false", "--DesMoe:Adaptation:WatchIntervalSeconds=0.2");

        var refused = await Assert.ThrowsAsync<RpcException>(() => serving.Admin.RollbackAsync(new RollbackRequest(), LoopbackServer.AsAdmin()).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);

        var split = DatasetSplit.Create(DomainCatalog.Get("intent"), 300, 20, seed: 6);
        var job = await adapting.Admin.AddDomainAsync("intent", split.Train, split.Eval, steps: 40);
        var done = (await adapting.Admin.WatchToEndAsync(job.Id, TimeSpan.FromMinutes(5)))[^1];
        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Message}");

        await WaitForVersion(serving, "v0002");
        Assert.Equal(["intent"], (await serving.Client.ListDomainsAsync(new ListDomainsRequest())).Domains.Select(d => d.Name));
        var prompt = new GenerateRequest { Text = split.Eval[0].Prompt, Domain = "intent", MaxNewTokens = 16 };
        Assert.Equal((await adapting.Client.GenerateAsync(prompt)).Text, (await serving.Client.GenerateAsync(prompt)).Text);

        await adapting.Admin.RollbackAsync(new RollbackRequest(), LoopbackServer.AsAdmin());
        await WaitForVersion(serving, "v0001");
        Assert.Empty((await serving.Client.ListDomainsAsync(new ListDomainsRequest())).Domains);
    }

    private static async Task WaitForVersion(LoopbackServer server, string version)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await server.Client.GetModelInfoAsync(new GetModelInfoRequest())).ModelVersion != version)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the serving replica did not reach {version}");
            await Task.Delay(100);
        }
    }
}
