namespace DesMoe.Formats.Tokenization;

/// <summary>Turns text into token ids and back. Special tokens are never produced by <see cref="Encode"/> and are skipped by <see cref="Decode"/>.</summary>
public interface ITextTokenizer
{
    /// <summary>Identifies the tokenizer in <c>tokenizer.json</c> and model metadata (e.g. "byte", "tiktoken:gpt2").</summary>
    string Name { get; }

    /// <summary>Size of the id space, special tokens included: the model's <c>vocab_size</c> must be at least this.</summary>
    int VocabSize { get; }

    SpecialTokens Special { get; }

    IReadOnlyList<int> Encode(string text);

    string Decode(IEnumerable<int> ids);
}
