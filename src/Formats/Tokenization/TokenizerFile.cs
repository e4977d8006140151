using System.Text.Json;
using System.Text.Json.Nodes;

namespace DesMoe.Formats.Tokenization;

/// <summary>
/// Reads and writes <c>tokenizer.json</c> in a model folder: which tokenizer, and its special token ids. A hub
/// model's tokenizer (<see cref="HubTextTokenizer"/>) is described the same way with its whole Hugging Face
/// tokenizer.json under <c>"tokenizer"</c>, which is how an exported hub model carries it into the server.
/// </summary>
public static class TokenizerFile
{
    public const string FileName = "tokenizer.json";

    /// <summary>
    /// In an export of a hub model, this tokenizer description (with the hub tokenizer.json inside), since the
    /// folder's tokenizer.json is the hub's own file for ONNX Runtime GenAI and other tools.
    /// </summary>
    public const string ExportFileName = "desmoe_tokenizer.json";

    /// <summary>The tokenizer of an export folder: <see cref="ExportFileName"/> when present, else <see cref="FileName"/>.</summary>
    public static ITextTokenizer LoadFromExport(string folder)
    {
        var described = Path.Combine(folder, ExportFileName);
        return Load(File.Exists(described) ? described : Path.Combine(folder, FileName));
    }

    public static ITextTokenizer Create(string name) => name switch
    {
        ByteTokenizer.TypeName => new ByteTokenizer(),
        _ when name.StartsWith(TiktokenBpeTokenizer.TypePrefix, StringComparison.Ordinal) =>
            new TiktokenBpeTokenizer(name[TiktokenBpeTokenizer.TypePrefix.Length..]),
        _ => throw new InvalidDataException($"unknown tokenizer '{name}'; expected '{ByteTokenizer.TypeName}' or '{TiktokenBpeTokenizer.TypePrefix}<model>'"),
    };

    public static string ToJson(ITextTokenizer tokenizer)
    {
        var specials = new JsonObject();
        foreach (var (text, id) in tokenizer.Special.ByText()) specials[text] = id;
        var json = new JsonObject
        {
            ["type"] = tokenizer.Name,
            ["vocab_size"] = tokenizer.VocabSize,
            ["special_tokens"] = specials,
        };
        if (tokenizer is HubTextTokenizer hub) json["tokenizer"] = JsonNode.Parse(hub.Tokenizer.Json);
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static ITextTokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        return FromJson(File.ReadAllText(path), path);
    }

    /// <param name="source">names the file (or model) in error messages</param>
    public static ITextTokenizer FromJson(string json, string source)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: malformed JSON: {e.Message}", e);
        }
        var type = node?["type"]?.GetValue<string>() ?? throw new InvalidDataException($"{source}: missing \"type\"");
        if (type.StartsWith(HubTextTokenizer.TypePrefix, StringComparison.Ordinal)) return HubFromJson(node, source);
        var tokenizer = Create(type);
        var declared = node["special_tokens"]?.AsObject();
        if (declared is not null)
        {
            foreach (var (text, id) in tokenizer.Special.ByText())
            {
                var stored = declared[text]?.GetValue<int>();
                if (stored != id)
                    throw new InvalidDataException($"{source}: special token {text} is {stored?.ToString() ?? "missing"} but tokenizer '{type}' uses {id}");
            }
        }
        return tokenizer;
    }

    private static HubTextTokenizer HubFromJson(JsonNode node, string source)
    {
        var embedded = node["tokenizer"] ?? throw new InvalidDataException($"{source}: hub tokenizer without its \"tokenizer\" (tokenizer.json) object");
        var declared = node["special_tokens"]?.AsObject() ?? throw new InvalidDataException($"{source}: hub tokenizer without \"special_tokens\"");
        int Id(string text) => declared[text]?.GetValue<int>() ?? throw new InvalidDataException($"{source}: special token {text} is missing");
        var special = new SpecialTokens(Id(SpecialTokens.BeginText), Id(SpecialTokens.EndText), Id(SpecialTokens.PadText), Id(SpecialTokens.SeparatorText));
        return new HubTextTokenizer(HubTokenizer.Parse(embedded.ToJsonString(), source), special);
    }
}
