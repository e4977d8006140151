using Microsoft.ML.Tokenizers;

namespace DesMoe.Formats.Tokenization;

/// <summary>
/// Byte-pair encoding from Microsoft.ML.Tokenizers with a vocabulary shipped in a NuGet data package (GPT-2 is
/// referenced here, so no download happens at run time). Our four special tokens follow the encoding's own ids.
/// </summary>
public sealed class TiktokenBpeTokenizer : ITextTokenizer
{
    public const string TypePrefix = "tiktoken:";

    private readonly Tokenizer _inner;
    private readonly int _baseVocab;

    public TiktokenBpeTokenizer(string model = "gpt2")
    {
        Model = model;
        var tiktoken = TiktokenTokenizer.CreateForModel(model);
        _inner = tiktoken;
        // Ids are dense from 0; the encoding's own special tokens (e.g. <|endoftext|>) sit at the top.
        _baseVocab = (tiktoken.SpecialTokens?.Values.DefaultIfEmpty(-1).Max() ?? -1) + 1;
        Special = SpecialTokens.Consecutive(_baseVocab);
    }

    public string Model { get; }
    public string Name => TypePrefix + Model;
    public int VocabSize => _baseVocab + 4;
    public SpecialTokens Special { get; }

    public IReadOnlyList<int> Encode(string text) => _inner.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids) => _inner.Decode(ids.Where(id => id >= 0 && id < _baseVocab));
}
