using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.Server.OpenAi.Wire;

/// <summary>
/// The fields of OpenAI's completion and chat completion requests that the server reads, plus vLLM's <c>top_k</c>
/// and <c>ignore_eos</c>. The parameters it does not implement are read too, so that a request using one is refused
/// naming it instead of being answered as if it had not asked (<see cref="Unsupported"/>).
/// </summary>
public abstract class GenerationRequestBody
{
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("max_tokens")] public long? MaxTokens { get; set; }
    [JsonPropertyName("max_completion_tokens")] public long? MaxCompletionTokens { get; set; }
    [JsonPropertyName("temperature")] public float? Temperature { get; set; }
    [JsonPropertyName("top_p")] public float? TopP { get; set; }
    [JsonPropertyName("top_k")] public long? TopK { get; set; }
    [JsonPropertyName("seed")] public long? Seed { get; set; }
    /// <summary>A string or an array of strings.</summary>
    [JsonPropertyName("stop")] public JsonElement? Stop { get; set; }
    [JsonPropertyName("stream")] public bool? Stream { get; set; }
    [JsonPropertyName("stream_options")] public StreamOptions? StreamOptions { get; set; }
    [JsonPropertyName("user")] public string? User { get; set; }
    [JsonPropertyName("ignore_eos")] public bool? IgnoreEos { get; set; }

    [JsonPropertyName("n")] public long? N { get; set; }
    [JsonPropertyName("logprobs")] public JsonElement? Logprobs { get; set; }
    [JsonPropertyName("top_logprobs")] public JsonElement? TopLogprobs { get; set; }
    [JsonPropertyName("best_of")] public long? BestOf { get; set; }
    [JsonPropertyName("tools")] public JsonElement? Tools { get; set; }
    [JsonPropertyName("tool_choice")] public JsonElement? ToolChoice { get; set; }
    [JsonPropertyName("functions")] public JsonElement? Functions { get; set; }
    [JsonPropertyName("function_call")] public JsonElement? FunctionCall { get; set; }
    [JsonPropertyName("response_format")] public JsonElement? ResponseFormat { get; set; }
    [JsonPropertyName("audio")] public JsonElement? Audio { get; set; }
    [JsonPropertyName("modalities")] public JsonElement? Modalities { get; set; }
    [JsonPropertyName("logit_bias")] public JsonElement? LogitBias { get; set; }
    [JsonPropertyName("presence_penalty")] public float? PresencePenalty { get; set; }
    [JsonPropertyName("frequency_penalty")] public float? FrequencyPenalty { get; set; }
    [JsonPropertyName("echo")] public bool? Echo { get; set; }
    [JsonPropertyName("suffix")] public string? Suffix { get; set; }

    /// <summary>The first parameter this server does not implement that the request uses, or null.</summary>
    public string? Unsupported()
    {
        if (N is > 1) return "n";
        if (BestOf is > 1) return "best_of";
        if (IsSet(Logprobs)) return "logprobs";
        if (IsSet(TopLogprobs)) return "top_logprobs";
        if (IsSet(Tools)) return "tools";
        if (IsSet(ToolChoice) && !(ToolChoice!.Value.ValueKind == JsonValueKind.String && ToolChoice.Value.GetString() is "none" or "auto")) return "tool_choice";
        if (IsSet(Functions)) return "functions";
        if (IsSet(FunctionCall)) return "function_call";
        if (ResponseFormat is { ValueKind: JsonValueKind.Object } format
            && !(format.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text")) return "response_format";
        if (IsSet(Audio)) return "audio";
        if (Modalities is { ValueKind: JsonValueKind.Array } modalities && modalities.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String || m.GetString() != "text"))
            return "modalities";
        if (IsSet(LogitBias)) return "logit_bias";
        if (PresencePenalty is { } presence && presence != 0) return "presence_penalty";
        if (FrequencyPenalty is { } frequency && frequency != 0) return "frequency_penalty";
        if (Echo == true) return "echo";
        if (!string.IsNullOrEmpty(Suffix)) return "suffix";
        return null;
    }

    /// <summary>Whether a parameter asks for something: not absent, null, false, 0 or empty.</summary>
    private static bool IsSet(JsonElement? element) => element switch
    {
        null => false,
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False } => false,
        { ValueKind: JsonValueKind.Number } n => n.GetDouble() != 0,
        { ValueKind: JsonValueKind.Array } a => a.GetArrayLength() > 0,
        { ValueKind: JsonValueKind.Object } o => o.EnumerateObject().Any(),
        _ => true,
    };
}

public sealed class StreamOptions
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; set; }
}

/// <summary><c>POST /v1/completions</c>: <c>prompt</c> is a string or an array of one string.</summary>
public sealed class CompletionRequestBody : GenerationRequestBody
{
    [JsonPropertyName("prompt")] public JsonElement? Prompt { get; set; }
}

/// <summary><c>POST /v1/chat/completions</c>.</summary>
public sealed class ChatCompletionRequestBody : GenerationRequestBody
{
    [JsonPropertyName("messages")] public List<ChatMessageBody>? Messages { get; set; }
}

/// <summary>A chat message: <c>content</c> is a string or an array of parts (<c>{"type": "text", "text": ...}</c>).</summary>
public sealed class ChatMessageBody
{
    [JsonPropertyName("role")] public string? Role { get; set; }
    [JsonPropertyName("content")] public JsonElement? Content { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
}
