using System.Text.Json;
using System.Text.Json.Nodes;

namespace DesMoe.Formats.Tokenization;

/// <summary>
/// <see cref="ByteTokenizer"/>'s vocabulary as a Hugging Face <c>tokenizer.json</c>, so a model pre-trained on bytes
/// is saved as a hub folder that transformers and this loader read with the same ids: a byte-level BPE with no
/// merges (byte b is id b, spelled in GPT-2's byte alphabet) and DesMoe's four control tokens as added tokens at
/// 256..259, the separator among them (<see cref="HubTextTokenizer.ForGeneration"/> gives it its role).
/// </summary>
public static class ByteTokenizerJson
{
    public static string Write()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.Encode((byte)b).ToString()] = b;
        var added = new JsonArray();
        foreach (var (text, id) in new ByteTokenizer().Special.ByText().OrderBy(p => p.Value))
            added.Add(new JsonObject
            {
                ["id"] = id, ["content"] = text, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
        JsonObject ByteLevel() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(),
            ["post_processor"] = null,
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>The matching <c>generation_config.json</c>: begin, end and pad ids of the byte vocabulary.</summary>
    public static string GenerationConfig()
    {
        var special = new ByteTokenizer().Special;
        return new JsonObject { ["bos_token_id"] = special.Begin, ["eos_token_id"] = special.End, ["pad_token_id"] = special.Pad }
            .ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
