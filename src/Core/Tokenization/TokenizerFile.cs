using System.Text.Json;
using System.Text.Json.Nodes;

namespace DesMoe.Core.Tokenization;

/// <summary>Reads and writes <c>tokenizer.json</c> in a model folder: which tokenizer, and its special token ids.</summary>
public static class TokenizerFile
{
    public const string FileName = "tokenizer.json";

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
}
