using DesMoe.Formats.Hub;
using System.Text.Json.Nodes;

namespace DesMoe.Formats.Tokenization;

/// <summary>One-line errors for tokenizer.json components this implementation does not cover.</summary>
internal static class TokenizerJsonErrors
{
    public static HubModelException Unsupported(string source, string component, string? type, params string[] supported) =>
        new($"{source}: {component} '{type ?? "(none)"}' is not supported (supported: {string.Join(", ", supported)})");

    public static string TypeOf(JsonNode node) => node["type"]?.GetValue<string>() ?? "(untyped)";

    public static string Text(JsonNode node, string field, string fallback = "") =>
        node[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : fallback;

    public static bool Flag(JsonNode node, string field, bool fallback) =>
        node[field] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : fallback;

    /// <summary>A Split/Replace pattern: {"String": "..."} or {"Regex": "..."}.</summary>
    public static (string Pattern, bool IsRegex) Pattern(JsonNode node, string source)
    {
        var pattern = node["pattern"] ?? throw new HubModelException($"{source}: {TypeOf(node)} has no pattern");
        if (pattern["Regex"] is JsonValue r) return (r.GetValue<string>(), true);
        if (pattern["String"] is JsonValue s) return (s.GetValue<string>(), false);
        throw new HubModelException($"{source}: {TypeOf(node)} pattern {pattern.ToJsonString()} is neither String nor Regex");
    }
}
