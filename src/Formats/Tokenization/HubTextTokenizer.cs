namespace DesMoe.Formats.Tokenization;

/// <summary>
/// <see cref="ITextTokenizer"/> over a hub tokenizer. A tokenizer.json does not say which ids play DesMoe's four
/// control roles (begin, end, pad, separator) — those live in the model's generation and chat configs — so the
/// caller supplies them; each must be an added token of the tokenizer.
/// </summary>
public sealed class HubTextTokenizer : ITextTokenizer
{
    public const string TypePrefix = "hub:";

    private readonly HubTokenizer _tokenizer;

    public HubTextTokenizer(HubTokenizer tokenizer, SpecialTokens special)
    {
        foreach (var id in new[] { special.Begin, special.End, special.Pad, special.Separator })
            if (tokenizer.AddedTokens.All(t => t.Id != id))
                throw new ArgumentException($"control id {id} is not an added token of the tokenizer", nameof(special));
        _tokenizer = tokenizer;
        Special = special;
    }

    public HubTokenizer Tokenizer => _tokenizer;

    /// <summary>
    /// DesMoe's control roles from a hub model's generation config: begin = bos (or the first eos), end = the first
    /// eos, pad = pad (or end). The separator is DesMoe's own <c>&lt;|sep|&gt;</c> where the tokenizer has it as an
    /// added token (models pre-trained here, <see cref="ByteTokenizerJson"/>); other hub tokenizers have no
    /// prompt/completion separator, so the begin token serves: it is an id the model already embeds, and
    /// fine-tuning teaches it the new role.
    /// </summary>
    public static HubTextTokenizer ForGeneration(HubTokenizer tokenizer, IReadOnlyList<int> eosTokenIds, int? bosTokenId, int? padTokenId, string source)
    {
        if (eosTokenIds.Count == 0)
            throw new ArgumentException($"{source}: no eos_token_id in generation_config.json or config.json; generation could never stop");
        int end = eosTokenIds[0];
        int begin = bosTokenId ?? end;
        int separator = tokenizer.AddedTokens.FirstOrDefault(t => t.Content == SpecialTokens.SeparatorText)?.Id ?? begin;
        return new HubTextTokenizer(tokenizer, new SpecialTokens(Begin: begin, End: end, Pad: padTokenId ?? end, Separator: separator));
    }

    public string Name => TypePrefix + (_tokenizer.Kind == TokenizerKind.ByteLevelBpe ? "byte-level-bpe" : "metaspace-bpe");

    public int VocabSize => _tokenizer.VocabSize;

    public SpecialTokens Special { get; }

    /// <summary>Text is encoded as written; control tokens are never produced because text cannot contain them unless typed.</summary>
    public IReadOnlyList<int> Encode(string text) => _tokenizer.Encode(text);

    /// <summary>Skips the four control ids (byte-fallback pieces, though marked special in tokenizer.json, are kept: they are text).</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids.Where(id => !Special.Contains(id)));
}
