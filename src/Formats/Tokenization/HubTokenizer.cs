using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DesMoe.Formats.Hub;
using Microsoft.ML.Tokenizers;

namespace DesMoe.Formats.Tokenization;

/// <summary>
/// A BPE tokenizer read from a hub <c>tokenizer.json</c>, giving the ids the tokenizers library gives
/// (with <c>add_special_tokens=False</c>: no template tokens are added).
/// </summary>
/// <remarks>
/// The BPE merges themselves (and the byte-level character mapping) are Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/>, built from the file's vocab and merges. The pipeline around it is glue, because the
/// library has no option for it: added tokens are matched before normalisation; the normaliser (e.g. Prepend '▁'),
/// chained pre-tokenizers and decoders are tokenizer.json components the library does not read; and the library's
/// BPE has no byte fallback, so an unknown character it reports as the unk token is replaced by the character's
/// UTF-8 bytes as &lt;0xNN&gt; tokens here.
/// </remarks>
public sealed class HubTokenizer
{
    private readonly BpeTokenizer _bpe;
    private readonly AddedTokenSplitter _splitter;
    private readonly TextNormalizer _normalizer;
    private readonly PreTokenizer _preTokenizer;
    private readonly TokenDecoder _decoder;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<int, string> _tokenById;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly string? _unknownToken;
    private readonly bool _byteFallback, _ignoreMerges;

    private HubTokenizer(TokenizerKind kind, BpeTokenizer bpe, Dictionary<string, int> vocabulary, IReadOnlyList<AddedToken> added,
        TextNormalizer normalizer, PreTokenizer preTokenizer, TokenDecoder decoder, string? unknownToken, bool byteFallback, bool ignoreMerges,
        string json)
    {
        Kind = kind;
        Json = json;
        _bpe = bpe;
        _vocabulary = vocabulary;
        AddedTokens = added;
        _addedById = added.ToDictionary(t => t.Id);
        _addedByContent = added.GroupBy(t => t.Content, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        _tokenById = vocabulary.ToDictionary(p => p.Value, p => p.Key);
        foreach (var token in added) _tokenById[token.Id] = token.Content;
        _splitter = new AddedTokenSplitter(added);
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _decoder = decoder;
        _unknownToken = unknownToken;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        VocabSize = _tokenById.Keys.Max() + 1;
    }

    public TokenizerKind Kind { get; }

    /// <summary>One past the largest id (vocab and added tokens).</summary>
    public int VocabSize { get; }

    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>The tokenizer.json text this was parsed from: what an export embeds and a saved folder writes back.</summary>
    public string Json { get; }

    public static HubTokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new HubModelException($"{path}: no such tokenizer file");
        return Parse(File.ReadAllText(path), path);
    }

    public static HubTokenizer Parse(string json, string source)
    {
        JsonNode root;
        try
        {
            root = JsonNode.Parse(json) ?? throw new HubModelException($"{source}: empty JSON");
        }
        catch (JsonException e)
        {
            throw new HubModelException($"{source}: malformed JSON: {e.Message}", e);
        }
        var model = root["model"] ?? throw new HubModelException($"{source}: no \"model\"");
        var modelType = TokenizerJsonErrors.Text(model, "type", "BPE");
        if (modelType != "BPE") throw TokenizerJsonErrors.Unsupported(source, "model type", modelType, "BPE");
        foreach (var field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model[field] is JsonValue v && v.GetValue<string>() is { Length: > 0 } value)
                throw TokenizerJsonErrors.Unsupported(source, $"model {field}", value, "null");
        if (model["dropout"] is JsonValue d && d.GetValue<double>() is > 0 and var dropout)
            throw TokenizerJsonErrors.Unsupported(source, "model dropout", dropout.ToString(System.Globalization.CultureInfo.InvariantCulture), "null");

        var vocabulary = model["vocab"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<int>(), StringComparer.Ordinal);
        var merges = ReadMerges(model["merges"], source);
        var added = (root["added_tokens"]?.AsArray() ?? []).Select(t => ReadAddedToken(t!, source)).ToList();
        var normalizer = TextNormalizer.Parse(root["normalizer"], source);
        var preTokenizer = PreTokenizer.Parse(root["pre_tokenizer"], source);
        var decoder = TokenDecoder.Parse(root["decoder"], source);
        bool byteFallback = TokenizerJsonErrors.Flag(model, "byte_fallback", false);
        var unknown = model["unk_token"] is JsonValue u ? u.GetValue<string>() : null;

        var options = new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = preTokenizer.ByteLevel,
            UnknownToken = unknown,
            FuseUnknownTokens = TokenizerJsonErrors.Flag(model, "fuse_unk", false),
        };
        var bpe = BpeTokenizer.Create(options);
        var kind = preTokenizer.ByteLevel ? TokenizerKind.ByteLevelBpe : TokenizerKind.MetaspaceBpe;
        return new HubTokenizer(kind, bpe, vocabulary, added, normalizer, preTokenizer, decoder, unknown, byteFallback,
            TokenizerJsonErrors.Flag(model, "ignore_merges", false), json);
    }

    /// <summary>The ids for <paramref name="text"/>; added tokens written in the text (e.g. "&lt;|im_start|&gt;") become their ids.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        bool first = true;
        foreach (var (segment, token) in _splitter.Split(text))
        {
            if (token is not null)
            {
                ids.Add(token.Id);
            }
            else
            {
                foreach (var piece in _preTokenizer.Split(_normalizer.Apply(segment), first)) EncodePiece(piece, ids);
            }
            first = false;
        }
        return ids;
    }

    /// <summary>
    /// Text for <paramref name="ids"/>; with <paramref name="skipSpecialTokens"/>, special added tokens are left out (as
    /// the tokenizers library does). Ids the tokenizer does not know are skipped, as the tokenizers library does too:
    /// a model's vocab_size is often padded past the tokenizer's (e.g. to a multiple of 64), and it may sample them.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && _addedById.TryGetValue(id, out var added) && added.Special) continue;
            if (_tokenById.TryGetValue(id, out var token)) tokens.Add(token);
        }
        return _decoder.Decode(tokens);
    }

    public int? TokenToId(string token) =>
        _vocabulary.TryGetValue(token, out var id) ? id : _addedByContent.TryGetValue(token, out var added) ? added : null;

    public string? IdToToken(int id) => _tokenById.GetValueOrDefault(id);

    private void EncodePiece(string piece, List<int> ids)
    {
        if (_ignoreMerges && _vocabulary.TryGetValue(_preTokenizer.ByteLevel ? ToByteLevel(piece) : piece, out var whole))
        {
            ids.Add(whole);
            return;
        }
        var tokens = _bpe.EncodeToTokens(piece, out _, considerPreTokenization: false, considerNormalization: false);
        int i = 0;
        while (i < tokens.Count)
        {
            if (!_byteFallback || tokens[i].Value != _unknownToken)
            {
                ids.Add(tokens[i].Id);
                i++;
                continue;
            }
            // A run of unknown characters (a surrogate pair may arrive as two): their UTF-8 bytes as <0xNN> tokens.
            int from = tokens[i].Offset.Start.GetOffset(piece.Length), to = tokens[i].Offset.End.GetOffset(piece.Length);
            for (i++; i < tokens.Count && tokens[i].Value == _unknownToken && tokens[i].Offset.Start.GetOffset(piece.Length) == to; i++)
                to = tokens[i].Offset.End.GetOffset(piece.Length);
            foreach (var b in Encoding.UTF8.GetBytes(piece[from..to]))
                ids.Add(TokenToId(ByteFallbackToken.For(b)) ?? throw new HubModelException($"tokenizer has byte_fallback but no token {ByteFallbackToken.For(b)}"));
        }
    }

    private static string ToByteLevel(string piece) => new(Encoding.UTF8.GetBytes(piece).Select(ByteLevelAlphabet.Encode).ToArray());

    private static List<string> ReadMerges(JsonNode? node, string source)
    {
        if (node is not JsonArray array) return [];
        return array.Select(merge => merge switch
        {
            JsonArray pair when pair.Count == 2 => $"{pair[0]!.GetValue<string>()} {pair[1]!.GetValue<string>()}",
            JsonValue text => text.GetValue<string>(),
            _ => throw new HubModelException($"{source}: merge {merge?.ToJsonString()} is neither \"a b\" nor [\"a\", \"b\"]"),
        }).ToList();
    }

    private static AddedToken ReadAddedToken(JsonNode node, string source)
    {
        var content = TokenizerJsonErrors.Text(node, "content");
        foreach (var flag in new[] { "single_word", "lstrip", "rstrip" })
            if (TokenizerJsonErrors.Flag(node, flag, false))
                throw TokenizerJsonErrors.Unsupported(source, $"added token '{content}' with {flag}", "true", "false");
        return new AddedToken(node["id"]!.GetValue<int>(), content, TokenizerJsonErrors.Flag(node, "special", false));
    }
}
