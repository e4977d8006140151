using System.Text.Json;
using DesMoe.Formats.Hub;
using DesMoe.Formats.Tokenization;
using Xunit;

namespace DesMoe.Tests.Architectures;

/// <summary>tokenizer.json files against the tokenizers library's own ids and decodes (expected.json).</summary>
public class HubTokenizerTests
{
    public sealed record Case(string Text, int[] Ids, string Decoded);

    public static TheoryData<string> TokenizerFolders => new("tokenizer-bytelevel", "tokenizer-metaspace");

    public static TheoryData<string> ModelFolders => new(HubFixtures.Models);

    [Theory]
    [MemberData(nameof(TokenizerFolders))]
    public void Every_sample_encodes_to_the_reference_ids_and_decodes_to_the_reference_text(string folder)
    {
        var tokenizer = HubTokenizer.Load(Path.Combine(HubFixtures.Folder(folder), "tokenizer.json"));
        var cases = Cases(folder);
        Assert.NotEmpty(cases);

        foreach (var sample in cases)
        {
            Assert.Equal(sample.Ids, tokenizer.Encode(sample.Text));
            Assert.Equal(sample.Decoded, tokenizer.Decode(sample.Ids));
        }
    }

    [Theory]
    [MemberData(nameof(ModelFolders))]
    public void Each_model_folder_tokenizer_reproduces_the_reference_samples_of_its_kind(string model)
    {
        using var hub = HubFixtures.Load(model);
        var tokenizer = Assert.IsType<HubTokenizer>(hub.Tokenizer);
        var reference = tokenizer.Kind == TokenizerKind.ByteLevelBpe ? "tokenizer-bytelevel" : "tokenizer-metaspace";
        Assert.Equal(model.Split('-')[0] == "mixtral" ? TokenizerKind.MetaspaceBpe : TokenizerKind.ByteLevelBpe, tokenizer.Kind); // a published-config fixture is named after its architecture
        Assert.InRange(tokenizer.VocabSize, 1, hub.Config.VocabSize);

        foreach (var sample in Cases(reference))
        {
            var ids = tokenizer.Encode(sample.Text);
            Assert.Equal(sample.Ids, ids);
            Assert.Equal(sample.Text, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Byte_fallback_spells_characters_missing_from_the_vocabulary_as_bytes()
    {
        var tokenizer = HubTokenizer.Load(Path.Combine(HubFixtures.Folder("tokenizer-metaspace"), "tokenizer.json"));
        const string text = "ok \u0F00\U0001F9EA"; // a Tibetan syllable and an astral-plane emoji the tiny vocabulary lacks

        var ids = tokenizer.Encode(text);

        var bytes = ids.Select(id => tokenizer.IdToToken(id)!).Where(t => ByteFallbackToken.TryParse(t, out _)).ToList();
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount("\u0F00\U0001F9EA"), bytes.Count);
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void Skipping_special_tokens_drops_added_control_tokens()
    {
        var tokenizer = HubTokenizer.Load(Path.Combine(HubFixtures.Folder("tokenizer-bytelevel"), "tokenizer.json"));
        var ids = tokenizer.Encode("<|im_start|>user\nhi<|im_end|>");

        Assert.Equal(1, ids[0]);
        Assert.Equal("user\nhi", tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Text_tokenizer_view_skips_only_the_control_ids_it_was_given()
    {
        var tokenizer = HubTokenizer.Load(Path.Combine(HubFixtures.Folder("tokenizer-bytelevel"), "tokenizer.json"));
        var view = new HubTextTokenizer(tokenizer, new SpecialTokens(Begin: 1, End: 2, Pad: 0, Separator: 1));
        var ids = new List<int> { 1 };
        ids.AddRange(view.Encode("copy abc"));
        ids.Add(2);

        Assert.Equal("copy abc", view.Decode(ids));
        Assert.Equal("hub:byte-level-bpe", view.Name);
        Assert.Throws<ArgumentException>(() => new HubTextTokenizer(tokenizer, new SpecialTokens(1, 2, 0, 500)));
    }

    [Fact]
    public void An_unsupported_component_fails_with_one_line_naming_it()
    {
        var json = File.ReadAllText(Path.Combine(HubFixtures.Folder("tokenizer-bytelevel"), "tokenizer.json"))
            .Replace("\"type\": \"BPE\"", "\"type\": \"Unigram\"", StringComparison.Ordinal);
        Assert.Contains("\"type\": \"Unigram\"", json);

        var error = Assert.Throws<HubModelException>(() => HubTokenizer.Parse(json, "tokenizer.json"));

        Assert.Equal("tokenizer.json: model type 'Unigram' is not supported (supported: BPE)", error.Message);
    }

    private static List<Case> Cases(string folder)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(HubFixtures.Folder(folder), "expected.json")));
        return document.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new Case(c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!))
            .ToList();
    }
}
