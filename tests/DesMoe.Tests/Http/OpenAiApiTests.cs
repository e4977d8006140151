using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using DesMoe.Protos.V1;
using OpenAI.Chat;
using Xunit;

namespace DesMoe.Tests.Http;

/// <summary>The OpenAI-compatible HTTP API as users call it: the official SDK and plain HTTP against the real server.</summary>
public sealed class OpenAiApiTests(OpenAiApiFixture fixture) : IClassFixture<OpenAiApiFixture>
{
    private const string Prompt = "reverse hello world";
    private const string Model = OpenAiApiFixture.Model;

    private static ChatCompletionOptions Greedy(int maxTokens = 12) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task Models_are_the_model_its_plain_router_and_each_domain()
    {
        var models = (await fixture.OpenAi().GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Equal([Model, $"{Model}:none"], models.Select(m => m.Id));
        Assert.All(models, m => Assert.Equal("desmoe", m.OwnedBy));

        var raw = await OpenAiApiFixture.JsonAsync(await fixture.Http.GetAsync(fixture.HttpAddress + "/v1/models"));
        Assert.Equal("list", raw.GetProperty("object").GetString());
        var none = raw.GetProperty("data")[1];
        Assert.Equal(Model, none.GetProperty("parent").GetString());
        Assert.Equal("v0001", none.GetProperty("root").GetString());
    }

    [Fact]
    public async Task A_completion_is_the_greedy_answer_grpc_gives_for_the_same_prompt()
    {
        var grpc = await fixture.Client.GenerateAsync(new GenerateRequest { Text = Prompt, Domain = "auto", MaxNewTokens = 12 });

        var response = await fixture.PostAsync("/v1/completions", new { model = Model, prompt = Prompt, max_tokens = 12, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await OpenAiApiFixture.JsonAsync(response);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString());
        Assert.Equal(Model, body.GetProperty("model").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(grpc.Text, choice.GetProperty("text").GetString());
        Assert.Equal(grpc.FinishReason == Protos.V1.FinishReason.Length ? "length" : "stop", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal((int)grpc.Usage.PromptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal((int)grpc.Usage.CompletionTokens, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal("v0001", body.GetProperty("desmoe").GetProperty("model_version").GetString());

        // A prompt may also come as an array of one string.
        var array = await OpenAiApiFixture.JsonAsync(await fixture.PostAsync("/v1/completions", new { model = Model, prompt = new[] { Prompt }, max_tokens = 12, temperature = 0 }));
        Assert.Equal(grpc.Text, array.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_streamed_completion_sends_text_chunks_the_finish_usage_when_asked_then_done()
    {
        var whole = await OpenAiApiFixture.JsonAsync(await fixture.PostAsync("/v1/completions", new { model = Model, prompt = Prompt, max_tokens = 10, temperature = 0 }));

        var response = await fixture.PostAsync("/v1/completions",
            new { model = Model, prompt = Prompt, max_tokens = 10, temperature = 0, stream = true, stream_options = new { include_usage = true } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await OpenAiApiFixture.EventsAsync(response);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.True(chunks[0].TryGetProperty("desmoe", out _), "the first chunk carries the domain");
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("text").GetString(), text);
        var withChoices = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).ToList();
        Assert.All(withChoices[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        Assert.NotEqual(JsonValueKind.Null, withChoices[^1].GetProperty("choices")[0].GetProperty("finish_reason").ValueKind);
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Chat_completions_through_the_sdk_plain_and_streamed_agree()
    {
        var chat = fixture.OpenAi().GetChatClient(Model);
        ChatMessage[] messages = [new SystemChatMessage("reverse "), new UserChatMessage("hello world")];
        ChatCompletion completion = await chat.CompleteChatAsync(messages, Greedy());
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, Greedy()))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            finish ??= update.FinishReason;
        }
        Assert.Equal(completion.Content[0].Text, streamed.ToString());
        Assert.Equal(completion.FinishReason, finish);
    }

    [Fact]
    public async Task A_stop_sequence_ends_the_answer_before_it()
    {
        var chat = fixture.OpenAi().GetChatClient(Model);
        ChatMessage[] messages = [new UserChatMessage("copy abcdefgh")];
        string full = (await chat.CompleteChatAsync(messages, Greedy(16))).Value.Content[0].Text;
        Assert.True(full.Length >= 4, $"the greedy answer '{full}' is too short to cut");
        string stop = full.Substring(2, 2);
        var options = Greedy(16);
        options.StopSequences.Add(stop);
        ChatCompletion stopped = await chat.CompleteChatAsync(messages, options);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], stopped.Content[0].Text);
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible()
    {
        var chat = fixture.OpenAi().GetChatClient(Model);
        ChatMessage[] messages = [new UserChatMessage("sort 9817263")];
        var options = new ChatCompletionOptions { Temperature = 1.5f, Seed = 42, MaxOutputTokenCount = 12 };
        var first = (await chat.CompleteChatAsync(messages, options)).Value.Content[0].Text;
        var second = (await chat.CompleteChatAsync(messages, options)).Value.Content[0].Text;
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Refusals_surface_as_the_sdks_exceptions_with_the_status()
    {
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() =>
            fixture.OpenAi().GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("hi")], Greedy()));
        Assert.Equal(404, unknown.Status);
        Assert.Contains("gpt-4o", unknown.Message);

        var unknownDomain = await Assert.ThrowsAsync<ClientResultException>(() =>
            fixture.OpenAi().GetChatClient($"{Model}:poetry").CompleteChatAsync([new UserChatMessage("hi")], Greedy()));
        Assert.Equal(404, unknownDomain.Status);

        var hot = await Assert.ThrowsAsync<ClientResultException>(() =>
            fixture.OpenAi().GetChatClient(Model).CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 50 }));
        Assert.Equal(400, hot.Status);
        Assert.Contains("temperature", hot.Message);
    }

    [Theory]
    [InlineData("""{"model": "base", "prompt": "copy a", "n": 2}""", "n")]
    [InlineData("""{"model": "base", "prompt": "copy a", "logprobs": 3}""", "logprobs")]
    [InlineData("""{"model": "base", "prompt": "copy a", "best_of": 2}""", "best_of")]
    [InlineData("""{"model": "base", "prompt": "copy a", "max_tokens": -1}""", "max_tokens")]
    [InlineData("""{"model": "base", "prompt": "copy a", "max_tokens": 100000}""", "max_tokens")]
    [InlineData("""{"model": "base", "prompt": "copy a", "top_p": 2}""", "top_p")]
    [InlineData("""{"model": "base", "prompt": "copy a", "stop": 5}""", "stop")]
    [InlineData("""{"model": "base", "prompt": ["a", "b"]}""", "prompt")]
    [InlineData("""{"model": "base", "prompt": ""}""", "prompt")]
    [InlineData("""{"prompt": "copy a"}""", "model")]
    [InlineData("""{"model": "base", "prompt": "copy a", "max_tokens": "ten"}""", "max_tokens")]
    public async Task Invalid_values_and_unimplemented_parameters_are_400_naming_the_parameter(string body, string param)
    {
        var response = await fixture.PostAsync("/v1/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await OpenAiApiFixture.JsonAsync(response)).GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Unsupported_chat_parameters_are_refused_not_ignored()
    {
        var tools = await fixture.PostAsync("/v1/chat/completions",
            """{"model": "base", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "f"}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, tools.StatusCode);
        Assert.Equal("tools", (await OpenAiApiFixture.JsonAsync(tools)).GetProperty("error").GetProperty("param").GetString());

        var json = await fixture.PostAsync("/v1/chat/completions",
            """{"model": "base", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}""");
        Assert.Equal("response_format", (await OpenAiApiFixture.JsonAsync(json)).GetProperty("error").GetProperty("param").GetString());

        var role = await fixture.PostAsync("/v1/chat/completions", """{"model": "base", "messages": [{"role": "tool", "content": "x"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, role.StatusCode);
        Assert.Equal("messages[0].role", (await OpenAiApiFixture.JsonAsync(role)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Malformed_oversize_and_unknown_requests_get_openai_errors()
    {
        var malformed = await fixture.PostAsync("/v1/completions", """{"model": "base", "prompt": """);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("not valid JSON", (await OpenAiApiFixture.JsonAsync(malformed)).GetProperty("error").GetProperty("message").GetString());

        var oversize = await fixture.PostAsync("/v1/completions", new { model = Model, prompt = new string('a', 5000) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, oversize.StatusCode);
        Assert.Contains("4096", (await OpenAiApiFixture.JsonAsync(oversize)).GetProperty("error").GetProperty("message").GetString());

        var route = await fixture.Http.GetAsync(fixture.HttpAddress + "/v1/embeddings");
        Assert.Equal(HttpStatusCode.NotFound, route.StatusCode);
        Assert.Contains("/v1/embeddings", (await OpenAiApiFixture.JsonAsync(route)).GetProperty("error").GetProperty("message").GetString());
    }
}
