using System.Collections.Concurrent;
using DesMoe.Bench.Load;
using DesMoe.Tests.Server;
using Xunit;

namespace DesMoe.Tests.Cli;

public sealed class LoadGeneratorTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Each_observed_request_reports_the_same_time_to_first_token_the_summary_counts()
    {
        var load = new LoadGenerator(server.Client, new LoadRequest(["reverse hello world", "copy batching"], [""], 24, IgnoreEndOfText: true));
        var observed = new ConcurrentBag<RequestOutcome>();
        var result = await load.RunAsync(2, TimeSpan.FromSeconds(1), observe: observed.Add);

        Assert.Equal(result.CompletedRequests, observed.Count);
        Assert.All(observed, o => Assert.Equal(Grpc.Core.StatusCode.OK, o.Status));
        var perRequest = LatencySummary.Of(observed.Select(o => o.TimeToFirstTokenMs!.Value).ToList());
        Assert.Equal(result.TimeToFirstToken.Count, perRequest.Count);
        Assert.Equal(result.TimeToFirstToken.P50, perRequest.P50);
        Assert.Equal(result.TimeToFirstToken.Max, perRequest.Max);
    }
}
