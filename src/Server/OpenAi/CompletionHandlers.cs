using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using DesMoe.Formats.Chat;
using DesMoe.Formats.Tokenization;
using DesMoe.Onnx.Generation;
using DesMoe.Server.Engine;
using DesMoe.Server.OpenAi.Wire;
using DesMoe.Server.Options;
using DesMoe.Server.Requests;
using DesMoe.Server.Services;
using DesMoe.Server.Telemetry;
using DesMoe.Server.Versions;

namespace DesMoe.Server.OpenAi;

/// <summary>
/// <c>POST /v1/completions</c> and <c>POST /v1/chat/completions</c>: the request's fields become a
/// <see cref="RequestInput"/> under the same rules as gRPC, and the steps come from the same engine, queue and limits.
/// </summary>
public sealed class CompletionHandlers(ModelHost host, RequestValidator validator, ServerOptions options, ServedModels models, ChatTemplates templates,
    ILogger<CompletionHandlers> logger)
{
    /// <summary>Most tokens one stream chunk carries when the writes fall behind the engine (as gRPC's stream).</summary>
    private const int MaxTokensPerChunk = 256;

    public Task<IResult> Completions(CompletionRequestBody body, HttpContext http) =>
        Run("completions", body, http, (engine, _) => (PromptFormat.EncodePrompt(engine.Tokenizer, CompletionPrompt(body)), "prompt"), Completion);

    public Task<IResult> ChatCompletions(ChatCompletionRequestBody body, HttpContext http) =>
        Run("chat.completions", body, http, (engine, version) => (ChatPrompt(body, engine, version), "messages"), Chat);

    private delegate (IReadOnlyList<int> Prompt, string Field) PromptOf(IGenerationEngine engine, VersionRecord version);

    private delegate Task<IResult> Responder(GenerationCall call, GenerationRequestBody body, string model, HttpContext http);

    private async Task<IResult> Run(string method, GenerationRequestBody body, HttpContext http, PromptOf prompt, Responder respond)
    {
        var metrics = new RequestMetrics(method, null, logger, RequestMetrics.Http);
        var lease = host.Acquire();
        GenerationCall call;
        try
        {
            if (body.Unsupported() is { } unsupported) throw OpenAiException.Unsupported(unsupported);
            var domain = models.DomainOf(body.Model, lease.Engine);
            var (tokens, promptField) = prompt(lease.Engine, lease.Version);
            var maxField = body.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens";
            var input = new RequestInput(tokens, body.MaxCompletionTokens ?? body.MaxTokens ?? 0, body.Temperature ?? 1, body.TopK is null or -1 ? 0 : body.TopK.Value,
                body.TopP ?? 1, body.Seed, Stops(body.Stop), body.IgnoreEos ?? false, domain);
            call = await GenerationCall.StartAsync(lease, input, new FieldNames(maxField, "model", "stop", promptField), validator, options, metrics,
                http.RequestAborted);
        }
        catch (Exception e)
        {
            lease.Dispose();
            metrics.Finish(e is OpenAiException refused ? StatusOf(refused.Status) : Grpc.Core.StatusCode.Internal);
            throw;
        }
        return await respond(call, body, body.Model!, http);
    }

    private static string CompletionPrompt(CompletionRequestBody body)
    {
        var prompt = body.Prompt switch
        {
            { ValueKind: JsonValueKind.String } text => text.GetString()!,
            { ValueKind: JsonValueKind.Array } list when list.GetArrayLength() == 1 && list[0].ValueKind == JsonValueKind.String => list[0].GetString()!,
            { ValueKind: JsonValueKind.Array } list when list.GetArrayLength() > 1 =>
                throw OpenAiException.Invalid("prompt", $"prompt has {list.GetArrayLength()} prompts; this server completes one prompt a request"),
            null or { ValueKind: JsonValueKind.Null } => throw OpenAiException.Invalid("prompt", "prompt is required"),
            _ => throw OpenAiException.Invalid("prompt", "prompt must be a string or an array of one string"),
        };
        return prompt.Length > 0 ? prompt : throw OpenAiException.Invalid("prompt", "the prompt is empty");
    }

    private IReadOnlyList<int> ChatPrompt(ChatCompletionRequestBody body, IGenerationEngine engine, VersionRecord version)
    {
        if (body.Messages is not { Count: > 0 } messages) throw OpenAiException.Invalid("messages", "messages must hold at least one message");
        var template = templates.For(version)
                       ?? throw OpenAiException.Invalid("messages",
                           $"model '{models.Name}' (version {version.Id}) has no chat template, so it cannot answer chat completions; use /v1/completions, or configure DesMoe:Http:ChatTemplate");
        var chat = messages.Select((m, i) => new ChatMessage(Role(m, i), Content(m, i))).ToList();
        string rendered;
        try
        {
            rendered = template.Render(chat, addGenerationPrompt: true);
        }
        catch (ChatTemplateException e)
        {
            throw OpenAiException.Invalid("messages", $"the model's chat template refused the conversation: {e.Message}");
        }
        var tokens = engine.Tokenizer.Encode(rendered);
        return tokens.Count > 0 ? tokens : throw OpenAiException.Invalid("messages", "the chat template rendered an empty prompt");
    }

    private static string Role(ChatMessageBody message, int index) => message.Role switch
    {
        "system" or "user" or "assistant" => message.Role,
        "developer" => "system", // OpenAI's newer name for the system role
        null => throw OpenAiException.Invalid($"messages[{index}].role", $"messages[{index}] has no role"),
        _ => throw OpenAiException.Invalid($"messages[{index}].role", $"messages[{index}].role '{message.Role}' is not supported (system, developer, user, assistant)"),
    };

    private static string Content(ChatMessageBody message, int index) => message.Content switch
    {
        { ValueKind: JsonValueKind.String } text => text.GetString()!,
        { ValueKind: JsonValueKind.Array } parts => string.Concat(parts.EnumerateArray().Select((part, p) =>
            part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type) && type.GetString() == "text"
                                                    && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                ? text.GetString()
                : throw OpenAiException.Invalid($"messages[{index}].content[{p}]", $"messages[{index}].content[{p}] is not a text part; only text is supported"))),
        null or { ValueKind: JsonValueKind.Null } => "",
        _ => throw OpenAiException.Invalid($"messages[{index}].content", $"messages[{index}].content must be a string or an array of text parts"),
    };

    private static IReadOnlyList<string> Stops(JsonElement? stop) => stop switch
    {
        null or { ValueKind: JsonValueKind.Null } => [],
        { ValueKind: JsonValueKind.String } one => [one.GetString()!],
        { ValueKind: JsonValueKind.Array } many when many.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) =>
            many.EnumerateArray().Select(s => s.GetString()!).ToList(),
        _ => throw OpenAiException.Invalid("stop", "stop must be a string or an array of strings"),
    };

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static UsageBody Usage(GenerationCall call, int completion) => new(call.Request.PromptTokens.Count, completion, call.Request.PromptTokens.Count + completion);

    private static Task<IResult> Completion(GenerationCall call, GenerationRequestBody body, string model, HttpContext http)
    {
        string id = "cmpl-" + Guid.NewGuid().ToString("N");
        long created = Now;
        return Respond(call, body, http,
            (text, finish, usage) => new CompletionBody(id, "text_completion", created, model, [new CompletionChoice(0, text, finish)], usage, call.DesMoe),
            (steps, first, finish) => new CompletionBody(id, "text_completion", created, model, [new CompletionChoice(0, Text(steps), finish)], null,
                first ? call.DesMoe : null),
            usage => new CompletionBody(id, "text_completion", created, model, [], usage));
    }

    private static Task<IResult> Chat(GenerationCall call, GenerationRequestBody body, string model, HttpContext http)
    {
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = Now;
        return Respond(call, body, http,
            (text, finish, usage) => new ChatCompletionBody(id, "chat.completion", created, model,
                [new ChatChoice(0, new ChatMessageOut("assistant", text), finish)], usage, call.DesMoe),
            (steps, first, finish) => new ChatChunkBody(id, "chat.completion.chunk", created, model,
                [new ChatChunkChoice(0, new ChatDelta(first ? "assistant" : null, finish is not null && steps.Count == 0 ? null : Text(steps)), finish)], null,
                first ? call.DesMoe : null),
            usage => new ChatChunkBody(id, "chat.completion.chunk", created, model, [], usage));
    }

    /// <summary>The whole answer as one JSON body, or, when the request streams, its chunks as server-sent events.</summary>
    /// <param name="whole">the body from the answer's text, finish_reason and usage</param>
    /// <param name="chunk">a stream chunk from its steps, whether it is the first, and the finish_reason of the last</param>
    private static async Task<IResult> Respond<TWhole, TChunk>(GenerationCall call, GenerationRequestBody body, HttpContext http,
        Func<string, string, UsageBody, TWhole> whole, Func<IReadOnlyList<GenerationStep>, bool, string?, TChunk> chunk, Func<UsageBody, TChunk> usageChunk)
    {
        if (body.Stream == true) return Stream(http, call, body, chunk, usageChunk);
        await using (call)
        {
            var (text, finish, tokens) = await Collect(call, http.RequestAborted);
            return TypedResults.Json(whole(text, finish, Usage(call, tokens)), OpenAiJson.Options);
        }
    }

    private static string Text(IReadOnlyList<GenerationStep> steps) => steps.Count == 1 ? steps[0].TextDelta : string.Concat(steps.Select(s => s.TextDelta));

    private static async Task<(string Text, string Finish, int Tokens)> Collect(GenerationCall call, CancellationToken cancellation)
    {
        var text = new StringBuilder();
        string finish = "length";
        int tokens = 0;
        try
        {
            await foreach (var step in call.Steps(cancellation))
            {
                text.Append(step.TextDelta);
                if (step.IsCompletionToken) tokens++;
                if (step.Finish is { } reason) finish = GenerationCall.FinishReasonOf(reason);
            }
        }
        catch (Exception e)
        {
            call.Finish(e);
            throw;
        }
        call.Finish(null);
        return (text.ToString(), finish, tokens);
    }

    /// <summary>
    /// Server-sent events: one chunk per batch of ready steps (the first carries the role and the <c>desmoe</c> object,
    /// the last the finish_reason), a usage chunk when <c>stream_options.include_usage</c> asks, then <c>[DONE]</c>.
    /// </summary>
    private static IResult Stream<T>(HttpContext http, GenerationCall call, GenerationRequestBody body,
        Func<IReadOnlyList<GenerationStep>, bool, string?, T> chunk, Func<UsageBody, T> usageChunk)
    {
        http.Response.RegisterForDisposeAsync(call);
        return TypedResults.ServerSentEvents(Events(), eventType: null);

        async IAsyncEnumerable<string> Events([EnumeratorCancellation] CancellationToken cancellation = default)
        {
            bool first = true;
            int tokens = 0;
            var batches = ReadyBatches.Of(call.Steps(http.RequestAborted), MaxTokensPerChunk, http.RequestAborted).GetAsyncEnumerator(http.RequestAborted);
            try
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await batches.MoveNextAsync();
                    }
                    catch (Exception e)
                    {
                        call.Finish(e);
                        throw;
                    }
                    if (!more) break;
                    var steps = batches.Current;
                    var finish = steps[^1].Finish is { } reason ? GenerationCall.FinishReasonOf(reason) : null;
                    // The end-of-text step carries no text: its chunk is the finish alone.
                    var text = steps.Where(s => s.IsCompletionToken).ToList();
                    tokens += text.Count;
                    yield return JsonSerializer.Serialize(chunk(text, first, finish), OpenAiJson.Options);
                    first = false;
                }
            }
            finally
            {
                await batches.DisposeAsync();
            }
            call.Finish(null);
            if (body.StreamOptions?.IncludeUsage == true) yield return JsonSerializer.Serialize(usageChunk(Usage(call, tokens)), OpenAiJson.Options);
            yield return "[DONE]";
        }
    }

    internal static Grpc.Core.StatusCode StatusOf(int httpStatus) => httpStatus switch
    {
        StatusCodes.Status400BadRequest or StatusCodes.Status413PayloadTooLarge => Grpc.Core.StatusCode.InvalidArgument,
        StatusCodes.Status401Unauthorized => Grpc.Core.StatusCode.Unauthenticated,
        StatusCodes.Status404NotFound => Grpc.Core.StatusCode.NotFound,
        StatusCodes.Status429TooManyRequests => Grpc.Core.StatusCode.ResourceExhausted,
        StatusCodes.Status503ServiceUnavailable => Grpc.Core.StatusCode.Unavailable,
        _ => Grpc.Core.StatusCode.Internal,
    };
}
