using DesMoe.Bench.Load;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Http;

/// <summary>gRPC and HTTP clients on one engine while the served version changes under them.</summary>
public sealed class MixedLoadTests
{
    [Fact]
    public async Task Grpc_and_http_streams_through_an_AddDomain_and_a_rollback_all_succeed()
    {
        using var data = new TempDirectory();
        await using var server = await LoopbackServer.StartAsync(data.Path);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var load = new LoadRequest(["reverse hello world", "upper stream me", "copy batching", "sort 9817263"], ["", "none"], 24, IgnoreEndOfText: true);
        var grpc = new LoadGenerator(server.Client, load);
        var model = await HttpStreamTarget.ServedModelAsync(http, server.HttpAddress, CancellationToken.None);
        var openAi = new LoadGenerator(new HttpStreamTarget(http, server.HttpAddress, model), load);

        using var stop = new CancellationTokenSource();
        var runs = new[] { grpc.RunAsync(16, TimeSpan.FromMinutes(5), stop: stop.Token), openAi.RunAsync(16, TimeSpan.FromMinutes(5), stop: stop.Token) };

        var split = DatasetSplit.Create(DomainCatalog.Get("intent"), 300, 20, seed: 6);
        var job = await server.Admin.AddDomainAsync("intent", split.Train, split.Eval, steps: 40);
        var done = (await server.Admin.WatchToEndAsync(job.Id, TimeSpan.FromMinutes(5)))[^1];
        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Message}");
        await Task.Delay(500); // streams on the new version
        await server.Admin.RollbackAsync(new RollbackRequest(), LoopbackServer.AsAdmin());
        await Task.Delay(500);
        stop.Cancel();

        var results = await Task.WhenAll(runs);
        foreach (var (protocol, result) in new[] { ("grpc", results[0]), ("http", results[1]) })
        {
            Assert.True(result.FailedRequests == 0, $"{protocol}: {string.Join(", ", result.Failures.Select(f => $"{f.Value} x {f.Key}"))}");
            Assert.True(result.CompletedRequests > 16, $"{protocol}: only {result.CompletedRequests} requests completed");
        }
    }
}
