using DesMoe.Formats.Files;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Tokenization;
using DesMoe.Protos.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Xunit;

namespace DesMoe.Tests.Server;

public class InferenceServiceTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly string[] Prompts = ["copy hello", "reverse abcde", "upper moe", "sort 93142", "length abcdefg", "last router", "copy xyz", "upper grpc"];

    private static List<string> ReferenceGreedy(IEnumerable<string> prompts)
    {
        using var loaded = ModelFolder.Load(BundledModel.StringSkillsFolder);
        var encoded = prompts.Select(p => (IReadOnlyList<int>)PromptFormat.EncodePrompt(loaded.Tokenizer, p)).ToList();
        return GreedyDecoder.Generate(loaded.Model, loaded.Tokenizer.Special, encoded, 32).Select(loaded.Tokenizer.Decode).ToList();
    }

    [Fact]
    public async Task Unary_greedy_generation_equals_the_reference_decoder()
    {
        var expected = ReferenceGreedy(Prompts);
        for (int i = 0; i < Prompts.Length; i++)
        {
            var response = await server.Client.GenerateAsync(new GenerateRequest { Text = Prompts[i], MaxNewTokens = 32 });
            Assert.Equal(expected[i], response.Text);
            Assert.Equal(FinishReason.EndOfText, response.FinishReason);
            Assert.Equal((uint)(new ByteTokenizer().Encode(Prompts[i]).Count + 2), response.Usage.PromptTokens);
            Assert.Equal((uint)response.TokenIds.Count, response.Usage.CompletionTokens);
            Assert.NotEmpty(response.ModelVersion);
        }
        // and the bundled model knows its general skills
        Assert.Equal("hello", (await server.Client.GenerateAsync(new GenerateRequest { Text = "copy hello" })).Text);
    }

    [Fact]
    public async Task Streaming_chunks_carry_every_token_in_order_and_a_final_chunk_with_reason_and_usage()
    {
        var unary = await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse abcde" });
        using var call = server.Client.GenerateStream(new GenerateRequest { Text = "reverse abcde" });
        var chunks = new List<GenerateChunk>();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync()) chunks.Add(chunk);

        Assert.Equal(unary.Text, string.Concat(chunks.Select(c => c.Text)));
        Assert.All(chunks[..^1], c => Assert.Equal(FinishReason.Unspecified, c.FinishReason));
        Assert.Equal(FinishReason.EndOfText, chunks[^1].FinishReason);
        Assert.Equal((uint)chunks.Sum(c => c.TokenIds.Count), chunks[^1].Usage.CompletionTokens);
        Assert.Equal(unary.TokenIds, chunks.SelectMany(c => c.TokenIds));
    }

    [Fact]
    public async Task Concurrent_streams_all_complete_with_their_own_greedy_answers()
    {
        var expected = ReferenceGreedy(Prompts);
        var results = await Task.WhenAll(Prompts.Select(async prompt =>
        {
            using var call = server.Client.GenerateStream(new GenerateRequest { Text = prompt, MaxNewTokens = 32 });
            var text = "";
            await foreach (var chunk in call.ResponseStream.ReadAllAsync()) text += chunk.Text;
            return text;
        }));
        Assert.Equal(expected, results);
    }

    [Fact]
    public async Task Stop_sequences_and_length_limits_finish_with_the_right_reason()
    {
        var length = await server.Client.GenerateAsync(new GenerateRequest { Text = "copy abcdefgh", MaxNewTokens = 3 });
        Assert.Equal(FinishReason.Length, length.FinishReason);
        Assert.Equal(3, length.TokenIds.Count);

        var full = await server.Client.GenerateAsync(new GenerateRequest { Text = "copy abcdefgh" });
        var stop = await server.Client.GenerateAsync(new GenerateRequest { Text = "copy abcdefgh", Stop = { full.Text.Substring(3, 2) } });
        Assert.Equal(FinishReason.StopSequence, stop.FinishReason);
        Assert.Equal(full.Text[..3], stop.Text);
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible()
    {
        var request = new GenerateRequest { Text = "copy sampling", Sampling = new SamplingParams { Temperature = 1.5f, TopK = 20, TopP = 0.95f, Seed = 42 } };
        var a = await server.Client.GenerateAsync(request);
        var b = await server.Client.GenerateAsync(request);
        Assert.Equal(a.TokenIds, b.TokenIds);
    }

    [Fact]
    public async Task Token_id_prompts_are_accepted()
    {
        var ids = new ByteTokenizer().Encode("copy tokens");
        var request = new GenerateRequest { TokenIds = new TokenIds() };
        request.TokenIds.Ids.AddRange(ids);
        var byIds = await server.Client.GenerateAsync(request);
        var byText = await server.Client.GenerateAsync(new GenerateRequest { Text = "copy tokens" });
        Assert.Equal(byText.Text, byIds.Text);
    }

    public static TheoryData<GenerateRequest, StatusCode, string> InvalidRequests => new()
    {
        { new GenerateRequest(), StatusCode.InvalidArgument, "prompt is empty" },
        { new GenerateRequest { Text = "" }, StatusCode.InvalidArgument, "prompt is empty" },
        { new GenerateRequest { Text = "copy a", Domain = "poetry" }, StatusCode.NotFound, "unknown domain 'poetry'" },
        { new GenerateRequest { Text = "copy a", MaxNewTokens = 5000 }, StatusCode.InvalidArgument, "max_new_tokens 5000 exceeds this server's limit of 200" },
        { new GenerateRequest { Text = new string('a', 300) }, StatusCode.InvalidArgument, "the prompt is 302 tokens (with control tokens) but the served context is 160 tokens" },
        { new GenerateRequest { Text = "copy a", Sampling = new SamplingParams { Temperature = -1 } }, StatusCode.InvalidArgument, "temperature must be between 0 and 10 (got -1)" },
        { new GenerateRequest { Text = "copy a", Sampling = new SamplingParams { TopP = 2 } }, StatusCode.InvalidArgument, "top_p must be between 0 and 1 (got 2)" },
        { new GenerateRequest { TokenIds = new TokenIds { Ids = { 65, 9999 } } }, StatusCode.InvalidArgument, "token id 9999 is not a text token" },
        { new GenerateRequest { Text = "copy a", Stop = { "" } }, StatusCode.InvalidArgument, "stop sequences must not be empty" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task Invalid_requests_get_the_right_status_and_a_message_naming_the_problem(GenerateRequest request, StatusCode code, string message)
    {
        var unary = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.GenerateAsync(request));
        Assert.Equal(code, unary.StatusCode);
        Assert.Contains(message, unary.Status.Detail);

        using var call = server.Client.GenerateStream(request);
        var streamed = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
        Assert.Equal(code, streamed.StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_stream_stops_it_and_the_server_keeps_serving()
    {
        using var cts = new CancellationTokenSource();
        using var call = server.Client.GenerateStream(
            new GenerateRequest { Text = "copy a", MaxNewTokens = 150, Sampling = new SamplingParams { Temperature = 2, Seed = 1 } },
            cancellationToken: cts.Token);
        Assert.True(await call.ResponseStream.MoveNext());
        cts.Cancel();
        var error = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext()) { } });
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);

        Assert.Equal("hello", (await server.Client.GenerateAsync(new GenerateRequest { Text = "copy hello" })).Text);
    }

    [Fact]
    public async Task An_expired_deadline_is_reported_as_deadline_exceeded()
    {
        // The bundled model's answers take a few milliseconds, so the deadline request queues behind a burst of others.
        var burst = Enumerable.Range(0, 60).Select(i => server.Client.GenerateAsync(new GenerateRequest { Text = Prompts[i % Prompts.Length] }).ResponseAsync).ToList();
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.GenerateAsync(
            new GenerateRequest { Text = "copy abc", MaxNewTokens = 150 }, deadline: DateTime.UtcNow.AddMilliseconds(2)));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await Task.WhenAll(burst);
    }

    [Fact]
    public async Task Model_info_domains_and_health_describe_the_served_model()
    {
        var info = await server.Client.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.Equal("CPUExecutionProvider", info.ExecutionProvider);
        Assert.Equal(160u, info.MaxContextTokens);
        Assert.Equal("byte", info.Tokenizer);
        Assert.Contains("\"n_routed_experts\": 16", info.ConfigJson);
        Assert.InRange(info.Parameters, 1_000_000ul, 4_000_000ul);

        Assert.Empty((await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains);

        var health = await new Health.HealthClient(server.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }
}
