using System.Text.Json.Serialization;

namespace DesMoe.Formats.Data;

/// <summary>One prompt/completion pair; the JSONL line format is <c>{"prompt": ..., "completion": ...}</c>.</summary>
public sealed record Example(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("completion")] string Completion);
