using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Medical definitions -> term from the GCIDE dictionary (<c>dict-gcide</c>'s <c>gcide.dict.dz</c>, gzip-compatible
/// dictzip). Entries are blocks separated by blank lines: a head line <c>Term \pro*nun"ci*a*tion\, n. [etymology]</c>,
/// the definition (indented, wrapped) and a <c>[source]</c> tag; a field label such as <c>(Med.)</c> or <c>(Anat.)</c>
/// comes just before the definition. Entries with exactly one such label and a single sense (no numbered senses) give
/// one example each: the text after the label, up to the source tag or a <c>--</c> run-on. A definition shared by
/// two terms is dropped (no single right answer).
/// </summary>
public static partial class GcideMedicalTerms
{
    public const string PromptPrefix = "medical term: ";

    [GeneratedRegex(@"^(?<term>[A-Za-z][A-Za-z \-']*?) \\[^\\]*\\,")]
    private static partial Regex Head();

    [GeneratedRegex(@"\((?:Med|Anat)\.\)")]
    private static partial Regex MedicalLabel();

    [GeneratedRegex(@"(^| )\d+\. ")]
    private static partial Regex SenseNumber();

    /// <summary>A trailing author citation, e.g. <c>--Dunglison.</c></summary>
    [GeneratedRegex(@"\s*--[A-Z][^.;]*\.?\s*$")]
    private static partial Regex Citation();

    public static IEnumerable<string> ReadLines(string dictDzPath)
    {
        using var file = File.OpenRead(dictDzPath);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        while (reader.ReadLine() is { } line) yield return line;
    }

    /// <param name="maxChars">longest definition kept</param>
    public static List<Example> Parse(IEnumerable<string> lines, int maxChars = 160)
    {
        var terms = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        var block = new List<string>();

        void Finish()
        {
            if (block.Count > 0 && Definition(block, maxChars) is { } entry)
            {
                if (!terms.TryGetValue(entry.Definition, out var set)) { terms[entry.Definition] = set = []; order.Add(entry.Definition); }
                set.Add(entry.Term);
            }
            block.Clear();
        }

        foreach (var line in lines)
        {
            if (line.Length == 0) Finish();
            else block.Add(line);
        }
        Finish();
        return order.Where(d => terms[d].Count == 1).Select(d => new Example(PromptPrefix + d, terms[d].Single())).ToList();
    }

    private static (string Term, string Definition)? Definition(List<string> block, int maxChars)
    {
        if (block[0][0] == ' ' || Head().Match(block[0]) is not { Success: true } head) return null;
        var text = string.Join(' ', block.Select(l => l.Trim()));
        var labels = MedicalLabel().Matches(text);
        if (labels.Count != 1 || SenseNumber().IsMatch(text)) return null;
        var definition = text[(labels[0].Index + labels[0].Length)..];
        foreach (var end in new[] { " [", " -- " })
            if (definition.IndexOf(end, StringComparison.Ordinal) is >= 0 and var at) definition = definition[..at];
        definition = Citation().Replace(definition.Replace("{", "").Replace("}", ""), "").Trim(); // {Ear}: GCIDE's cross-reference markup
        return definition.Length is > 0 and var length && length <= maxChars ? (head.Groups["term"].Value.Trim().ToLowerInvariant(), definition) : null;
    }
}
