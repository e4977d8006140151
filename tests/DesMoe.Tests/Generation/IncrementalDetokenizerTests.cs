using DesMoe.Formats.Tokenization;
using DesMoe.Onnx.Generation;
using DesMoe.Tests.Architectures;
using Xunit;

namespace DesMoe.Tests.Generation;

/// <summary>The streamed text equals decoding the whole sequence after every token, while each token decodes only a short window.</summary>
public sealed class IncrementalDetokenizerTests
{
    /// <summary>Multi-byte characters (2, 3 and 4 bytes), leading and repeated spaces, newlines, digits, punctuation.</summary>
    private const string Text = "  Grüße, naïve café — 7+5=12\n\t数学の問題 🧪🧪 x  y\u0F00 end";

    public static TheoryData<string> Tokenizers => new() { "byte", "tiktoken:gpt2", "hub:tokenizer-bytelevel", "hub:tokenizer-metaspace" };

    private static ITextTokenizer Create(string name)
    {
        if (!name.StartsWith("hub:", StringComparison.Ordinal)) return TokenizerFile.Create(name);
        var hub = HubTokenizer.Load(Path.Combine(HubFixtures.Folder(name["hub:".Length..]), "tokenizer.json"));
        var control = hub.AddedTokens[0].Id;
        return new HubTextTokenizer(hub, new SpecialTokens(control, control, control, control));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Text_equals_decoding_every_prefix_of_an_encoded_text(string name)
    {
        var tokenizer = Create(name);
        var ids = tokenizer.Encode(Text);
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        for (int i = 0; i < ids.Count; i++)
        {
            detokenizer.Append(ids[i]);
            Assert.Equal(tokenizer.Decode(ids.Take(i + 1)), detokenizer.Text);
        }
        Assert.Equal(Text, detokenizer.Text);
    }

    /// <summary>What a model may sample: any id, so characters split across tokens, invalid bytes and control ids.</summary>
    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Text_equals_decoding_every_prefix_of_random_ids(string name)
    {
        var tokenizer = Create(name);
        var random = new Random(7);
        for (int sequence = 0; sequence < 20; sequence++)
        {
            var ids = new List<int>();
            var detokenizer = new IncrementalDetokenizer(tokenizer);
            for (int i = 0; i < 60; i++)
            {
                // Byte ids are common in every vocabulary here; half the picks stay among them to split characters often.
                int id = random.Next(2) == 0 ? random.Next(256) : random.Next(tokenizer.VocabSize);
                ids.Add(id);
                detokenizer.Append(id);
                Assert.Equal(tokenizer.Decode(ids), detokenizer.Text);
            }
        }
    }

    [Fact]
    public void Each_token_decodes_a_window_not_the_whole_sequence()
    {
        var counting = new CountingTokenizer(new ByteTokenizer());
        var ids = counting.Encode(string.Concat(Enumerable.Repeat("ab café 🧪 ", 40)));
        var detokenizer = new IncrementalDetokenizer(counting);

        foreach (var id in ids) detokenizer.Append(id);

        Assert.True(ids.Count > 400);
        // Decoding the whole sequence every token would decode n(n+1)/2 ids (over 80,000 here); a window decodes a few per token.
        Assert.InRange(counting.DecodedIds, ids.Count, 10 * ids.Count);
        Assert.Equal(counting.Decode(ids), detokenizer.Text);
    }

    private sealed class CountingTokenizer(ITextTokenizer inner) : ITextTokenizer
    {
        public long DecodedIds { get; private set; }
        public string Name => inner.Name;
        public int VocabSize => inner.VocabSize;
        public SpecialTokens Special => inner.Special;
        public IReadOnlyList<int> Encode(string text) => inner.Encode(text);

        public string Decode(IEnumerable<int> ids)
        {
            var list = ids.ToList();
            DecodedIds += list.Count;
            return inner.Decode(list);
        }
    }
}
