using DesMoe.Onnx;
using DesMoe.Formats.Tokenization;
using DesMoe.Protos.V1;
using DesMoe.Server.Engine;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DesMoe.Tests.Server;

public sealed class BatchingServerTests(DomainServerFixture server) : IClassFixture<DomainServerFixture>
{
    private static readonly string[] Prompts = ["copy hello", "reverse abcde", "upper moe", "sort 93142", "length abcdefg", "last router", "copy xyz", "upper grpc"];
    private static readonly string[] DomainNames = ["", "math", "law"];

    /// <summary>Each prompt decoded alone, greedily, through the same exported graph.</summary>
    private List<string> Unbatched(string domain, IEnumerable<string> prompts, int maxNewTokens)
    {
        var engine = (OnnxBatchingEngine)server.CurrentEngine;
        using var decoder = OnnxDecoder.Load(engine.ModelPath);
        int domainId = decoder.Info.DomainId(domain);
        return prompts.Select(p => decoder.Info.Tokenizer.Decode(OnnxGreedyDecoder.Generate(decoder, decoder.Info.Tokenizer.Special,
            [PromptFormat.EncodePrompt(decoder.Info.Tokenizer, p)], maxNewTokens, domainId)[0])).ToList();
    }

    [Fact]
    public async Task Concurrent_streams_of_mixed_domains_all_complete_with_their_unbatched_outputs()
    {
        var requests = Enumerable.Range(0, 24).Select(i => (Prompt: Prompts[i % Prompts.Length], Domain: DomainNames[i % DomainNames.Length])).ToList();
        var expected = requests.Select(r => Unbatched(r.Domain, [r.Prompt], 24)[0]).ToList();

        var results = await Task.WhenAll(requests.Select(async r =>
        {
            using var call = server.Client.GenerateStream(new GenerateRequest { Text = r.Prompt, Domain = r.Domain, MaxNewTokens = 24 });
            var text = "";
            FinishReason finish = FinishReason.Unspecified;
            await foreach (var chunk in call.ResponseStream.ReadAllAsync())
            {
                text += chunk.Text;
                if (chunk.FinishReason != FinishReason.Unspecified) finish = chunk.FinishReason;
            }
            return (Text: text, Finish: finish);
        }));

        Assert.Equal(expected, results.Select(r => r.Text));
        Assert.All(results, r => Assert.NotEqual(FinishReason.Unspecified, r.Finish));
    }

    [Fact]
    public async Task Domains_are_listed_and_an_unknown_one_is_not_found_with_the_known_names()
    {
        var domains = await server.Client.ListDomainsAsync(new ListDomainsRequest());
        Assert.Equal(["math", "law"], domains.Domains.Select(d => d.Name));
        Assert.Equal([0, 1], domains.Domains.Select(d => d.Id));

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.GenerateAsync(new GenerateRequest { Text = "1+1=", Domain = "poetry" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("math, law", error.Status.Detail);
    }

    [Fact]
    public async Task Over_capacity_requests_get_resource_exhausted_quickly_and_the_others_finish()
    {
        int total = DomainServerFixture.MaxBatch + DomainServerFixture.QueueSize + 60;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, total).Select(async i =>
        {
            try
            {
                var response = await server.Client.GenerateAsync(new GenerateRequest
                {
                    Text = Prompts[i % Prompts.Length],
                    MaxNewTokens = 100,
                    Sampling = new SamplingParams { Temperature = 1f, Seed = (ulong)i },
                });
                return response.Usage.CompletionTokens > 0 ? StatusCode.OK : StatusCode.Internal;
            }
            catch (RpcException e)
            {
                Assert.Contains("8 sequences decoding and 16 waiting", e.Status.Detail);
                return e.StatusCode;
            }
        }));

        Assert.Contains(StatusCode.ResourceExhausted, outcomes);
        Assert.Contains(StatusCode.OK, outcomes);
        Assert.All(outcomes, s => Assert.True(s is StatusCode.OK or StatusCode.ResourceExhausted, $"unexpected {s}"));
    }

    [Fact]
    public async Task A_cancelled_stream_leaves_the_batch_at_once()
    {
        var engine = (OnnxBatchingEngine)server.CurrentEngine;
        using var cancel = new CancellationTokenSource();
        using var call = server.Client.GenerateStream(new GenerateRequest { Text = "copy abc", MaxNewTokens = 150, Sampling = new SamplingParams { Temperature = 1.5f, Seed = 3 } },
            cancellationToken: cancel.Token);
        Assert.True(await call.ResponseStream.MoveNext());
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<Exception>(async () => { while (await call.ResponseStream.MoveNext()) { } });

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (engine.Active > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, engine.Active);
    }
}
