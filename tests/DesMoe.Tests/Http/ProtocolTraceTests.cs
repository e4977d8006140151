using System.Collections.Concurrent;
using System.Diagnostics;
using DesMoe.Protos.V1;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Http;

/// <summary>A request's span says which door it came through, as its metrics do.</summary>
public sealed class ProtocolTraceTests
{
    [Fact]
    public async Task Request_spans_carry_the_protocol()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        using var data = new TempDirectory();
        await using var server = await LoopbackServer.StartAsync(data.Path);
        using var http = new HttpClient();
        var completion = await OpenAiApiFixture.Post(http, server.HttpAddress, "/v1/completions", new { model = "base", prompt = "copy trace", max_tokens = 3 });
        Assert.Equal(System.Net.HttpStatusCode.OK, completion.StatusCode);
        await server.Client.GenerateAsync(new GenerateRequest { Text = "copy trace", MaxNewTokens = 3 });

        var httpPort = new Uri(server.HttpAddress).Port;
        var grpcPort = new Uri(server.Address).Port;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        Activity? Find(string protocol, int port) => spans.FirstOrDefault(s => (string?)s.GetTagItem("desmoe.protocol") == protocol
                                                                               && Equals(s.GetTagItem("server.port"), port));
        while ((Find("http", httpPort) is null || Find("grpc", grpcPort) is null) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(Find("http", httpPort) is not null, "no HTTP span tagged desmoe.protocol=http: " + Describe(spans, httpPort));
        Assert.True(Find("grpc", grpcPort) is not null, "no gRPC span tagged desmoe.protocol=grpc: " + Describe(spans, grpcPort));
    }

    private static string Describe(IEnumerable<Activity> spans, int port) =>
        string.Join("; ", spans.Where(s => Equals(s.GetTagItem("server.port"), port))
            .Select(s => $"{s.DisplayName} [{string.Join(", ", s.TagObjects.Select(t => $"{t.Key}={t.Value}"))}]"));
}
