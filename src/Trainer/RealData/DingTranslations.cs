using System.Text.RegularExpressions;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// German -> English phrase pairs from the Ding dictionary (<c>trans-de-en</c>): lines <c>German {pos} [tag] :: English</c>,
/// alternatives separated by <c>;</c> and sub-entries by <c>|</c>. Only unambiguous pairs are kept (one German and one
/// English term, no sub-entries), so an exact match is a fair score; annotations in braces, brackets and parentheses
/// are dropped.
/// </summary>
public static partial class DingTranslations
{
    public const string PromptPrefix = "translate to English: ";

    [GeneratedRegex(@"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)")]
    private static partial Regex Annotation();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    /// <param name="maxChars">longest German or English side kept (phrase-length pairs suit a small model's context)</param>
    public static IEnumerable<Example> Parse(IEnumerable<string> lines, int maxChars = 40)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var sides = line.Split(" :: ");
            if (sides.Length != 2 || sides[0].Contains('|') || sides[1].Contains('|')) continue;
            var german = Clean(sides[0]);
            var english = Clean(sides[1]);
            if (german.Length == 0 || english.Length == 0 || german.Contains(';') || english.Contains(';')) continue;
            if (german.Length > maxChars || english.Length > maxChars) continue;
            if (!seen.Add(german)) continue; // one answer per prompt
            yield return new Example(PromptPrefix + german, english);
        }
    }

    private static string Clean(string side) => Spaces().Replace(Annotation().Replace(side, " "), " ").Trim();
}
