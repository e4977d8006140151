using System.Text.Json;
using System.Text.Json.Nodes;

namespace DesMoe.Formats.Hub;

/// <summary>What <c>generation_config.json</c> says about stopping: its end-of-sequence ids (an int or a list in real files).</summary>
public sealed record GenerationConfig(IReadOnlyList<int> EosTokenIds, int? BosTokenId, int? PadTokenId)
{
    public const string FileName = "generation_config.json";

    public static GenerationConfig Empty { get; } = new([], null, null);

    /// <summary>Reads the file when present; otherwise falls back to the ids in <c>config.json</c>.</summary>
    public static GenerationConfig Read(string folder, ConfigJson modelConfig)
    {
        var path = Path.Combine(folder, FileName);
        JsonObject source = modelConfig.Raw;
        if (File.Exists(path))
        {
            try
            {
                source = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new HubModelException($"{path}: expected a JSON object");
            }
            catch (JsonException e)
            {
                throw new HubModelException($"{path}: malformed JSON: {e.Message}", e);
            }
        }
        return new GenerationConfig(ReadIds(source["eos_token_id"], path, "eos_token_id"), ReadId(source["bos_token_id"], path, "bos_token_id"),
            ReadId(source["pad_token_id"], path, "pad_token_id"));
    }

    private static int[] ReadIds(JsonNode? node, string path, string field) => node switch
    {
        null => [],
        JsonArray array => array.Select(item => ReadId(item, path, field) ?? throw Bad(path, field, array)).ToArray(),
        _ => [ReadId(node, path, field) ?? throw Bad(path, field, node)],
    };

    private static int? ReadId(JsonNode? node, string path, string field) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<int>(out var id) => id,
        _ => throw Bad(path, field, node),
    };

    private static HubModelException Bad(string path, string field, JsonNode node) =>
        new($"{path}: {field} is {node.ToJsonString()}, expected an integer or a list of integers");
}
