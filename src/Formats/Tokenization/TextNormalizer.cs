using System.Text;
using System.Text.Json.Nodes;

namespace DesMoe.Formats.Tokenization;

/// <summary>tokenizer.json's <c>normalizer</c>, applied to each text segment between added tokens.</summary>
public sealed class TextNormalizer
{
    private static readonly string[] Supported = ["Sequence", "Prepend", "Replace", "NFC", "NFD", "NFKC", "NFKD"];
    private readonly List<Func<string, string>> _steps = [];

    public static TextNormalizer Parse(JsonNode? node, string source)
    {
        var normalizer = new TextNormalizer();
        if (node is not null) normalizer.Add(node, source);
        return normalizer;
    }

    public string Apply(string text) => _steps.Aggregate(text, (current, step) => step(current));

    private void Add(JsonNode node, string source)
    {
        var type = TokenizerJsonErrors.TypeOf(node);
        switch (type)
        {
            case "Sequence":
                foreach (var inner in node["normalizers"]!.AsArray()) Add(inner!, source);
                break;
            case "Prepend":
                var prefix = TokenizerJsonErrors.Text(node, "prepend");
                _steps.Add(text => text.Length == 0 ? text : prefix + text);
                break;
            case "Replace":
                var (pattern, isRegex) = TokenizerJsonErrors.Pattern(node, source);
                var content = TokenizerJsonErrors.Text(node, "content");
                if (isRegex)
                {
                    var regex = new System.Text.RegularExpressions.Regex(pattern);
                    _steps.Add(text => regex.Replace(text, content));
                }
                else
                {
                    _steps.Add(text => text.Replace(pattern, content, StringComparison.Ordinal));
                }
                break;
            case "NFC": _steps.Add(text => text.Normalize(NormalizationForm.FormC)); break;
            case "NFD": _steps.Add(text => text.Normalize(NormalizationForm.FormD)); break;
            case "NFKC": _steps.Add(text => text.Normalize(NormalizationForm.FormKC)); break;
            case "NFKD": _steps.Add(text => text.Normalize(NormalizationForm.FormKD)); break;
            default: throw TokenizerJsonErrors.Unsupported(source, "normalizer", type, Supported);
        }
    }
}
