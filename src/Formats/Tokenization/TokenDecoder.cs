using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace DesMoe.Formats.Tokenization;

/// <summary>
/// tokenizer.json's <c>decoder</c>: turns the token strings of an id sequence back into text, component by
/// component on the list of tokens as the tokenizers library does (ByteLevel; or Replace, ByteFallback, Fuse,
/// Strip for sentencepiece-style vocabularies; Metaspace).
/// </summary>
public sealed class TokenDecoder
{
    private static readonly string[] Supported = ["Sequence", "ByteLevel", "Replace", "ByteFallback", "Fuse", "Strip", "Metaspace"];
    private readonly List<Func<List<string>, List<string>>> _steps = [];

    public static TokenDecoder Parse(JsonNode? node, string source)
    {
        var decoder = new TokenDecoder();
        if (node is not null) decoder.Add(node, source);
        return decoder;
    }

    public string Decode(IEnumerable<string> tokens) => string.Concat(_steps.Aggregate(tokens.ToList(), (current, step) => step(current)));

    private void Add(JsonNode node, string source)
    {
        var type = TokenizerJsonErrors.TypeOf(node);
        switch (type)
        {
            case "Sequence":
                foreach (var inner in node["decoders"]!.AsArray()) Add(inner!, source);
                break;
            case "ByteLevel":
                _steps.Add(DecodeByteLevel);
                break;
            case "Replace":
                var (pattern, isRegex) = TokenizerJsonErrors.Pattern(node, source);
                var content = TokenizerJsonErrors.Text(node, "content");
                if (isRegex)
                {
                    var regex = new System.Text.RegularExpressions.Regex(pattern);
                    _steps.Add(tokens => tokens.Select(t => regex.Replace(t, content)).ToList());
                }
                else
                {
                    _steps.Add(tokens => tokens.Select(t => t.Replace(pattern, content, StringComparison.Ordinal)).ToList());
                }
                break;
            case "ByteFallback":
                _steps.Add(DecodeByteFallback);
                break;
            case "Fuse":
                _steps.Add(tokens => [string.Concat(tokens)]);
                break;
            case "Strip":
                var strip = TokenizerJsonErrors.Text(node, "content", " ");
                int start = node["start"]?.GetValue<int>() ?? 0, stop = node["stop"]?.GetValue<int>() ?? 0;
                _steps.Add(tokens => tokens.Select(t => Strip(t, strip, start, stop)).ToList());
                break;
            case "Metaspace":
                var replacement = TokenizerJsonErrors.Text(node, "replacement", "\u2581");
                bool stripFirst = TokenizerJsonErrors.Text(node, "prepend_scheme", TokenizerJsonErrors.Flag(node, "add_prefix_space", true) ? "always" : "never") != "never";
                _steps.Add(tokens => tokens.Select((t, i) =>
                {
                    var text = t.Replace(replacement, " ", StringComparison.Ordinal);
                    return i == 0 && stripFirst && text.StartsWith(' ') ? text[1..] : text;
                }).ToList());
                break;
            default:
                throw TokenizerJsonErrors.Unsupported(source, "decoder", type, Supported);
        }
    }

    /// <summary>All tokens' bytes (a token outside the byte alphabet contributes its own UTF-8), decoded leniently as one string.</summary>
    private static List<string> DecodeByteLevel(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens) bytes.AddRange(ByteLevelAlphabet.Decode(token) ?? Encoding.UTF8.GetBytes(token));
        return [Encoding.UTF8.GetString(bytes.ToArray())];
    }

    /// <summary>Runs of &lt;0xNN&gt; tokens become the text their bytes spell, or one U+FFFD per byte when they are not valid UTF-8.</summary>
    private static List<string> DecodeByteFallback(List<string> tokens)
    {
        var result = new List<string>();
        var pending = new List<byte>();
        void Flush()
        {
            if (pending.Count == 0) return;
            try
            {
                result.Add(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(pending.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                result.AddRange(pending.Select(_ => "\uFFFD"));
            }
            pending.Clear();
        }
        foreach (var token in tokens)
        {
            if (ByteFallbackToken.TryParse(token, out var value)) pending.Add(value);
            else
            {
                Flush();
                result.Add(token);
            }
        }
        Flush();
        return result;
    }

    private static string Strip(string token, string content, int start, int stop)
    {
        int from = 0, to = token.Length;
        for (int i = 0; i < start && from < to && token.AsSpan(from).StartsWith(content); i++) from += content.Length;
        for (int i = 0; i < stop && to > from && token.AsSpan(from, to - from).EndsWith(content); i++) to -= content.Length;
        return token[from..to];
    }
}

/// <summary>Sentencepiece byte-fallback pieces: "&lt;0x41&gt;" stands for byte 0x41.</summary>
public static class ByteFallbackToken
{
    public static string For(byte value) => $"<0x{value:X2}>";

    public static bool TryParse(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
    }
}
