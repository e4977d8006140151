using System.Text.RegularExpressions;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Summarisation from Debian's package descriptions (the apt index <c>Translation-en</c>): stanzas of
/// <c>Package:</c>, <c>Description-md5:</c> and <c>Description-en: synopsis</c>, then the long description on lines
/// that start with a space (<c> .</c> separates paragraphs, deeper-indented lines are lists or verbatim text). The
/// prompt is the start of the long description, cut at a sentence end between <see cref="MinWords"/> and
/// <paramref name="maxWords"/> words where there is one, so it suits a small model's context; the completion is the
/// synopsis, scored by ROUGE-L. Packages of one family (libfoo1, libfoo-dev, foo-doc) share their opening, so a
/// prompt given two synopses has no single reference and is dropped; <see cref="Family"/> keeps the variants that
/// remain on one side of the split.
/// </summary>
public static partial class DebianDescriptions
{
    public const string PromptPrefix = "summarise: ";

    /// <summary>Descriptions shorter than this are not worth summarising (DATA.md: 46k of the 64k).</summary>
    public const int MinWords = 30;

    /// <summary>Words of the opening that name a family of packages (<see cref="Family"/>).</summary>
    private const int FamilyWords = 8;

    /// <summary>A list marker at the start of an indented line (<c>  * item</c>, <c>  - item</c>, <c>  o item</c>).</summary>
    [GeneratedRegex(@"^\s+(?:[*+\-o]|\d+[.)])\s+")]
    private static partial Regex ListMarker();

    /// <param name="maxWords">longest prompt, in words of the description</param>
    /// <param name="maxSynopsis">longest synopsis kept (Debian policy asks for under 80 characters; a few run to 360)</param>
    public static List<Example> Parse(IEnumerable<string> lines, int maxWords = 40, int maxSynopsis = 80)
    {
        var synopses = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        string? synopsis = null;
        var words = new List<string>();

        void Finish()
        {
            if (synopsis is { Length: > 0 } s && s.Length <= maxSynopsis && words.Count >= MinWords)
            {
                var prompt = PromptPrefix + string.Join(' ', Opening(words, maxWords));
                if (!synopses.TryGetValue(prompt, out var set)) { synopses[prompt] = set = []; order.Add(prompt); }
                set.Add(s);
            }
            synopsis = null;
            words.Clear();
        }

        foreach (var line in lines)
        {
            if (line.StartsWith("Description-en:", StringComparison.Ordinal)) { Finish(); synopsis = line["Description-en:".Length..].Trim(); }
            else if (line.Length == 0 || !char.IsWhiteSpace(line[0])) Finish(); // a blank line or the next field ends the description
            else if (synopsis is not null && line.Trim() != ".")
                words.AddRange(ListMarker().Replace(line, " ").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }
        Finish();
        return order.Where(p => synopses[p].Count == 1).Select(p => new Example(p, synopses[p].Single())).ToList();
    }

    /// <summary>The first <paramref name="maxWords"/> words, cut after the last sentence end from word <see cref="MinWords"/> on if there is one.</summary>
    private static IEnumerable<string> Opening(List<string> words, int maxWords)
    {
        int take = Math.Min(maxWords, words.Count);
        for (int i = take; i >= MinWords; i--)
            if (words[i - 1] is [.., '.' or '!' or '?'] && !words[i - 1].EndsWith("e.g.", StringComparison.Ordinal) && !words[i - 1].EndsWith("i.e.", StringComparison.Ordinal))
                return words.Take(i);
        return words.Take(take);
    }

    /// <summary>The first <see cref="FamilyWords"/> words of a prompt's description, lower-cased: packages that open alike.</summary>
    public static string Family(Example example) =>
        string.Join(' ', example.Prompt[PromptPrefix.Length..].ToLowerInvariant().Split(' ').Take(FamilyWords));
}
