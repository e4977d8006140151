using System.Text.Json;
using System.Text.Json.Serialization;
using DesMoe.Server.OpenAi.Wire;

namespace DesMoe.Server.OpenAi;

/// <summary>
/// The JSON settings of the HTTP API: the wire records name their fields; nulls are written (OpenAI's
/// finish_reason: null). The responses' serializers are generated at build time: a stream serializes one chunk per
/// write, and at 32 streams that runs for every token the server decodes.
/// </summary>
public static class OpenAiJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
        // Text as OpenAI's own API writes it (an apostrophe as ', not \u0027): these bodies are JSON for API clients, never HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.Combine(OpenAiJsonContext.Default,
            new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver()),
    };
}

[JsonSerializable(typeof(CompletionBody))]
[JsonSerializable(typeof(ChatCompletionBody))]
[JsonSerializable(typeof(ChatChunkBody))]
[JsonSerializable(typeof(ModelListBody))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(CompletionRequestBody))]
[JsonSerializable(typeof(ChatCompletionRequestBody))]
internal sealed partial class OpenAiJsonContext : JsonSerializerContext;
