using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace DesMoe.Formats.Tokenization;

/// <summary>
/// tokenizer.json's <c>pre_tokenizer</c>: splits a normalised segment into the pieces BPE runs on. Implemented
/// here because Microsoft.ML.Tokenizers' pre-tokenizers take one regex, while hub tokenizers chain several
/// components (Qwen: Split + ByteLevel; DeepSeek: several Splits + ByteLevel; Mistral: Metaspace).
/// </summary>
public sealed class PreTokenizer
{
    /// <summary>GPT-2's split, used by ByteLevel when <c>use_regex</c> is true.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly string[] Supported = ["Sequence", "Split (Isolated)", "ByteLevel", "Metaspace", "Digits"];
    private readonly List<Func<string, bool, IEnumerable<string>>> _steps = [];

    /// <summary>True when a ByteLevel component is present: the BPE model then works on GPT-2 byte characters.</summary>
    public bool ByteLevel { get; private set; }

    public static PreTokenizer Parse(JsonNode? node, string source)
    {
        var preTokenizer = new PreTokenizer();
        if (node is not null) preTokenizer.Add(node, source);
        return preTokenizer;
    }

    /// <param name="isFirstSegment">whether the segment starts the text (Metaspace's prepend_scheme "first")</param>
    public IReadOnlyList<string> Split(string segment, bool isFirstSegment)
    {
        IEnumerable<string> pieces = [segment];
        foreach (var step in _steps) pieces = pieces.SelectMany(piece => step(piece, isFirstSegment)).ToList();
        return pieces.Where(p => p.Length > 0).ToList();
    }

    private void Add(JsonNode node, string source)
    {
        var type = TokenizerJsonErrors.TypeOf(node);
        switch (type)
        {
            case "Sequence":
                foreach (var inner in node["pretokenizers"]!.AsArray()) Add(inner!, source);
                break;
            case "Split":
                AddSplit(node, source);
                break;
            case "ByteLevel":
                ByteLevel = true;
                bool addPrefixSpace = TokenizerJsonErrors.Flag(node, "add_prefix_space", false);
                bool useRegex = TokenizerJsonErrors.Flag(node, "use_regex", true);
                var gpt2 = new Regex(Gpt2Pattern, RegexOptions.CultureInvariant);
                _steps.Add((piece, _) =>
                {
                    if (addPrefixSpace && piece.Length > 0 && piece[0] != ' ') piece = " " + piece; // the library checks for a space, not any whitespace
                    return useRegex ? Isolate(gpt2, piece) : [piece];
                });
                break;
            case "Metaspace":
                AddMetaspace(node);
                break;
            case "Digits":
                var digits = new Regex(TokenizerJsonErrors.Flag(node, "individual_digits", false) ? @"\p{Nd}" : @"\p{Nd}+");
                _steps.Add((piece, _) => Isolate(digits, piece));
                break;
            default:
                throw TokenizerJsonErrors.Unsupported(source, "pre_tokenizer", type, Supported);
        }
    }

    private void AddSplit(JsonNode node, string source)
    {
        var behavior = TokenizerJsonErrors.Text(node, "behavior");
        if (behavior != "Isolated" || TokenizerJsonErrors.Flag(node, "invert", false))
            throw TokenizerJsonErrors.Unsupported(source, "pre_tokenizer Split behavior", behavior + (TokenizerJsonErrors.Flag(node, "invert", false) ? " (inverted)" : ""), "Isolated");
        var (pattern, isRegex) = TokenizerJsonErrors.Pattern(node, source);
        var regex = new Regex(isRegex ? pattern : Regex.Escape(pattern), RegexOptions.CultureInvariant);
        _steps.Add((piece, _) => Isolate(regex, piece));
    }

    private void AddMetaspace(JsonNode node)
    {
        var replacement = TokenizerJsonErrors.Text(node, "replacement", "\u2581");
        var scheme = TokenizerJsonErrors.Text(node, "prepend_scheme", TokenizerJsonErrors.Flag(node, "add_prefix_space", true) ? "always" : "never");
        bool split = TokenizerJsonErrors.Flag(node, "split", true);
        _steps.Add((piece, isFirst) =>
        {
            var text = piece.Replace(" ", replacement, StringComparison.Ordinal);
            bool prepend = scheme == "always" || (scheme == "first" && isFirst);
            if (prepend && !text.StartsWith(replacement, StringComparison.Ordinal)) text = replacement + text;
            return split ? SplitBefore(text, replacement) : [text];
        });
    }

    /// <summary>The matches and the gaps between them, in order ("Isolated" behaviour).</summary>
    private static IEnumerable<string> Isolate(Regex regex, string text)
    {
        int last = 0;
        foreach (Match match in regex.Matches(text))
        {
            if (match.Length == 0) continue;
            if (match.Index > last) yield return text[last..match.Index];
            yield return match.Value;
            last = match.Index + match.Length;
        }
        if (last < text.Length) yield return text[last..];
    }

    /// <summary>Splits so that each occurrence of <paramref name="marker"/> starts a new piece (Metaspace's split).</summary>
    private static IEnumerable<string> SplitBefore(string text, string marker)
    {
        int start = 0;
        for (int i = 1; i < text.Length; i++)
        {
            if (string.CompareOrdinal(text, i, marker, 0, marker.Length) != 0) continue;
            yield return text[start..i];
            start = i;
        }
        yield return text[start..];
    }
}
