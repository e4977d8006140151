using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Tokenization;

public class TokenizerTests
{
    public static TheoryData<string> Tokenizers => new() { "byte", "tiktoken:gpt2" };

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Text_round_trips_and_specials_are_never_produced_by_encoding(string name)
    {
        var tokenizer = TokenizerFile.Create(name);
        const string text = "a=3;b=a+4;print(b) — naïve café 7+5-3=";

        var ids = tokenizer.Encode(text);

        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.All(ids, id => Assert.False(tokenizer.Special.Contains(id)));
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Special_tokens_are_distinct_in_range_and_skipped_when_decoding(string name)
    {
        var tokenizer = TokenizerFile.Create(name);
        var s = tokenizer.Special;

        Assert.Equal(4, new[] { s.Begin, s.End, s.Pad, s.Separator }.Distinct().Count());
        Assert.All(new[] { s.Begin, s.End, s.Pad, s.Separator }, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
        var (ids, start) = PromptFormat.EncodeExample(tokenizer, "copy abc", "abc");
        Assert.Equal(s.Begin, ids[0]);
        Assert.Equal(s.Separator, ids[start - 1]);
        Assert.Equal(s.End, ids[^1]);
        Assert.Equal("copy abcabc", tokenizer.Decode(ids));
    }

    [Fact]
    public void Gpt2_bpe_merges_common_words_into_few_tokens()
    {
        var tokenizer = new TiktokenBpeTokenizer("gpt2");
        Assert.Equal(50257 + 4, tokenizer.VocabSize);
        Assert.True(tokenizer.Encode("Hello world").Count <= 2);
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Tokenizer_file_round_trips(string name)
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerFile.Create(name);
        File.WriteAllText(dir.File("tokenizer.json"), TokenizerFile.ToJson(tokenizer));

        var loaded = TokenizerFile.Load(dir.File("tokenizer.json"));

        Assert.Equal(tokenizer.Name, loaded.Name);
        Assert.Equal(tokenizer.Special, loaded.Special);
    }

    [Fact]
    public void Unknown_tokenizer_type_is_named_in_the_error()
    {
        var error = Assert.Throws<InvalidDataException>(() => TokenizerFile.Create("sentencepiece"));
        Assert.Contains("unknown tokenizer 'sentencepiece'", error.Message);
    }
}
