using System.Text.Json;
using System.Text.Json.Nodes;

namespace DesMoe.Formats.Hub;

/// <summary>
/// Typed, validating access to a <c>config.json</c> object. Every failure is a <see cref="HubModelException"/> whose
/// one-line message starts with the model type and names the field and its value.
/// </summary>
public sealed class ConfigJson
{
    private readonly JsonObject _json;

    public ConfigJson(JsonObject json, string modelType)
    {
        _json = json;
        ModelType = modelType;
    }

    public string ModelType { get; }

    public JsonObject Raw => _json;

    public static ConfigJson Parse(string text, string source)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new HubModelException($"{source}: malformed JSON: {e.Message}", e);
        }
        if (node is not JsonObject json) throw new HubModelException($"{source}: expected a JSON object");
        var modelType = json["model_type"] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s
            : throw new HubModelException($"{source}: missing \"model_type\"");
        return new ConfigJson(json, modelType);
    }

    public bool Has(string field) => _json[field] is not null;

    public int RequiredInt(string field) => OptionalInt(field) ?? throw Missing(field);

    public int Int(string field, int fallback) => OptionalInt(field) ?? fallback;

    public int? OptionalInt(string field) => ReadInt(_json[field], field);

    public double RequiredDouble(string field) => OptionalDouble(field) ?? throw Missing(field);

    public double Double(string field, double fallback) => OptionalDouble(field) ?? fallback;

    public double? OptionalDouble(string field) => ReadDouble(_json[field], field);

    public bool Bool(string field, bool fallback) => _json[field] switch
    {
        null => fallback,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        var other => throw Invalid(field, other, "true or false"),
    };

    public string? OptionalString(string field) => _json[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        var other => throw Invalid(field, other, "a string"),
    };

    public string String(string field, string fallback) => OptionalString(field) ?? fallback;

    public IReadOnlyList<int> IntList(string field) => _json[field] switch
    {
        null => [],
        JsonArray array => array.Select(item => ReadInt(item, field) ?? throw Invalid(field, array, "a list of integers")).ToArray(),
        var other => throw Invalid(field, other, "a list of integers"),
    };

    public IReadOnlyList<string> StringList(string field) => _json[field] switch
    {
        null => [],
        JsonArray array => array.Select(item => item is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Invalid(field, array, "a list of strings")).ToArray(),
        var other => throw Invalid(field, other, "a list of strings"),
    };

    public JsonObject? OptionalObject(string field) => _json[field] switch
    {
        null => null,
        JsonObject o => o,
        var other => throw Invalid(field, other, "an object"),
    };

    /// <summary>A field value this loader does not implement: "{model_type}: {field} '{value}' is not supported (supported: ...)".</summary>
    public HubModelException Unsupported(string field, object? value, params string[] supported) =>
        new($"{ModelType}: {field} {Quote(value)} is not supported (supported: {string.Join(", ", supported)})");

    /// <summary>Throws <see cref="Unsupported"/> unless the string field (or its fallback) is one of <paramref name="supported"/>.</summary>
    public string OneOf(string field, string fallback, params string[] supported)
    {
        var value = String(field, fallback);
        return supported.Contains(value, StringComparer.Ordinal) ? value : throw Unsupported(field, value, supported);
    }

    public HubModelException Invalid(string field, JsonNode? value, string expected) =>
        new($"{ModelType}: {field} is {value?.ToJsonString() ?? "null"}, expected {expected}");

    public HubModelException Inconsistent(string message) => new($"{ModelType}: {message}");

    private HubModelException Missing(string field) => new($"{ModelType}: config.json has no \"{field}\"");

    private int? ReadInt(JsonNode? node, string field) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        JsonValue v when v.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue => (int)d,
        var other => throw Invalid(field, other, "an integer"),
    };

    private double? ReadDouble(JsonNode? node, string field) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        var other => throw Invalid(field, other, "a number"),
    };

    private static string Quote(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        bool b => b ? "true" : "false",
        JsonNode n => n.ToJsonString(),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "null",
    };
}
