using System.Globalization;
using System.Text.RegularExpressions;
using DesMoe.Protos.V1;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Server;

public sealed class MetricsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task The_prometheus_endpoint_reports_requests_tokens_latency_and_the_served_version()
    {
        for (int i = 0; i < 3; i++)
            await server.Client.GenerateAsync(new GenerateRequest { Text = "copy metrics", MaxNewTokens = 10, IgnoreEndOfText = true });
        using var stream = server.Client.GenerateStream(new GenerateRequest { Text = "upper scrape", MaxNewTokens = 10, IgnoreEndOfText = true });
        while (await stream.ResponseStream.MoveNext()) { }
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => server.Client.GenerateAsync(new GenerateRequest { Text = "" }).ResponseAsync);
        using var http = new HttpClient();
        var completion = await Http.OpenAiApiFixture.Post(http, server.Server.HttpAddress, "/v1/completions",
            new { model = "base", prompt = "copy metrics", max_tokens = 10, ignore_eos = true });
        Assert.Equal(System.Net.HttpStatusCode.OK, completion.StatusCode);

        var text = await http.GetStringAsync($"{server.Server.MetricsAddress}/metrics");

        Assert.True(Value(text, "desmoe_requests_total", "method=\"Generate\"", "status=\"OK\"", "protocol=\"grpc\"") >= 3);
        Assert.Equal(1, Value(text, "desmoe_requests_total", "method=\"completions\"", "status=\"OK\"", "protocol=\"http\""));
        Assert.True(Value(text, "desmoe_tokens_generated_total", "protocol=\"http\"") >= 10);
        Assert.True(Value(text, "desmoe_requests_total", "method=\"GenerateStream\"", "status=\"OK\"") >= 1);
        Assert.True(Value(text, "desmoe_requests_total", "status=\"InvalidArgument\"") >= 1);
        Assert.True(Value(text, "desmoe_tokens_generated_total", "domain=\"none\"") >= 40);
        double ttftCount = Value(text, "desmoe_time_to_first_token_seconds_count");
        double ttftSum = Value(text, "desmoe_time_to_first_token_seconds_sum");
        Assert.True(ttftCount >= 4);
        Assert.InRange(ttftSum / ttftCount, 1e-6, 5);
        Assert.True(Value(text, "desmoe_inter_token_latency_seconds_count") >= 36);
        Assert.True(Value(text, "desmoe_batch_size_count") >= 1);
        Assert.Equal(1, Value(text, "desmoe_model_version", "version=\"v0001\""));
        Assert.InRange(Value(text, "desmoe_queue_depth"), 0, 1000);
        var experts = Regex.Matches(text, @"^desmoe_expert_selections_total\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)
            .Where(m => m.Groups["labels"].Value.Contains("domain=\"none\"") && m.Groups["labels"].Value.Contains("layer=\"0\""))
            .Select(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.InRange(experts.Count, 2, 16); // top-4 routing spreads over several of the 16 experts
        Assert.True(experts.Sum() >= 4 * 40, $"layer 0 counted {experts.Sum()} selections"); // 4 per token, 40+ tokens
        Assert.InRange(Value(text, "desmoe_kv_cache_size_bytes"), 0, 1e9);
    }

    /// <summary>The value of the first sample of <paramref name="metric"/> whose labels contain all of <paramref name="labels"/>.</summary>
    private static double Value(string exposition, string metric, params string[] labels)
    {
        foreach (Match m in Regex.Matches(exposition, $@"^{metric}(?:\{{(?<labels>[^}}]*)\}})? (?<value>\S+)", RegexOptions.Multiline))
            if (labels.All(l => m.Groups["labels"].Value.Contains(l)))
                return double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        Assert.Fail($"no sample of {metric} with {string.Join(", ", labels)} in:\n{exposition}");
        return 0;
    }
}
