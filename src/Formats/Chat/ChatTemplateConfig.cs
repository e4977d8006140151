using System.Text.Json;

namespace DesMoe.Formats.Chat;

/// <summary>The chat fields of a hub folder: <c>tokenizer_config.json</c>'s template and tokens, and <c>chat_template.jinja</c>.</summary>
internal static class ChatTemplateConfig
{
    public const string TokenizerConfigFile = "tokenizer_config.json";

    /// <summary>transformers 4.43+ saves the template here instead of in the json; when both exist, this one wins, as in transformers.</summary>
    public const string TemplateFile = "chat_template.jinja";

    /// <summary>The template source, bos and eos of <paramref name="folder"/>; a null source when it has no template.</summary>
    public static (string? Source, string? Bos, string? Eos) Read(string folder)
    {
        string configPath = Path.Combine(folder, TokenizerConfigFile);
        string? source = null, bos = null, eos = null;
        if (File.Exists(configPath))
        {
            using var document = ParseJson(configPath);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ChatTemplateException($"{configPath}: expected a JSON object, found {root.ValueKind}");
            source = root.TryGetProperty("chat_template", out var template) ? TemplateText(template, configPath) : null;
            bos = root.TryGetProperty("bos_token", out var b) ? TokenText(b, "bos_token", configPath) : null;
            eos = root.TryGetProperty("eos_token", out var e) ? TokenText(e, "eos_token", configPath) : null;
        }
        string templatePath = Path.Combine(folder, TemplateFile);
        if (File.Exists(templatePath))
            source = File.ReadAllText(templatePath);
        return (source, bos, eos);
    }

    static JsonDocument ParseJson(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException ex) { throw new ChatTemplateException($"{path} is not valid JSON: {ex.Message}"); }
    }

    /// <summary>
    /// A string, or (older multi-template tokenizers) a list of <c>{"name", "template"}</c> of which transformers
    /// uses the one named "default" when no other is asked for; a list without one has no template to use here.
    /// </summary>
    static string? TemplateText(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null: return null;
            case JsonValueKind.String: return value.GetString();
            case JsonValueKind.Array:
                var names = new List<string>();
                foreach (JsonElement entry in value.EnumerateArray())
                {
                    string? name = entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("name", out var n) ? n.GetString() : null;
                    if (name == "default" && entry.TryGetProperty("template", out var t) && t.ValueKind == JsonValueKind.String)
                        return t.GetString();
                    names.Add(name ?? "(unnamed)");
                }
                throw new ChatTemplateException($"{path}: chat_template lists [{string.Join(", ", names)}] but none named \"default\"");
            default:
                throw new ChatTemplateException($"{path}: chat_template must be a string or a list of {{name, template}}, found {value.ValueKind}");
        }
    }

    /// <summary>A token is saved as its text, or as an AddedToken object whose <c>content</c> is the text.</summary>
    static string? TokenText(JsonElement value, string field, string path) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Object when value.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => throw new ChatTemplateException($"{path}: {field} must be a string or an object with a string \"content\", found {value.GetRawText()}"),
    };
}
