using System.Text.RegularExpressions;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// GCIDE's dictionary text for the general corpus (the file <see cref="GcideMedicalTerms"/> reads): an entry is a
/// head line at the start of a line with a <c>\pro*nun"ci*a*tion\</c>, then indented blocks (senses, quotations)
/// separated by blank lines, up to the next head. Each entry becomes one paragraph, <c>Affect, v. t. 1. To act upon;
/// to produce an effect or change upon. As might affect the earth with cold heat. ...</c>: pronunciations,
/// bracketed etymologies and source tags, braces, citations (<c>--Milton.</c>), run-ons (<c>-- </c>) and words
/// with GCIDE's <c>?</c> for an unprintable letter removed. Left out so that pre-training does not teach held-out
/// answers: every entry with a (Med.) or (Anat.) label (the medicine domain's source), every entry holding
/// definitions GCIDE took from WordNet (<c>[WordNet 1.5]</c>: the reverse-dictionary probe's source) and entries for
/// the given held-out words.
/// </summary>
public static partial class GcideDefinitions
{
    [GeneratedRegex(@"\\[^\\\n]*\\")]
    private static partial Regex HeadPronunciation();

    [GeneratedRegex(@"^(?<term>[^\\\s][^\\]*?),? \\[^\\]*\\")]
    private static partial Regex Head();

    /// <summary>An innermost bracket; removed repeatedly, since etymologies nest them (<c>[AS. [=a]f?ran.]</c>).</summary>
    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex Bracket();

    /// <summary>An author citation closing a block once its source tag is gone (<c>--Milton.</c>, <c>--W. Irving.</c>).</summary>
    [GeneratedRegex(@"\s*--\s?[A-Z][^-]{0,60}$")]
    private static partial Regex Citation();

    /// <summary>A run-on of derived forms to the block's end (<c> -- {Tus"sive*ly}, adv.</c>, <c>scientifically.-- Tel`e*path"ic</c>); a citation has no space after its dashes.</summary>
    [GeneratedRegex(@"--\s.*$")]
    private static partial Regex RunOn();

    /// <summary>A word with GCIDE's <c>?</c> for a letter, inside or in front (<c>f?ran</c>, <c>?way</c>, <c>(r?"gal)</c>); a question mark ending a word stays.</summary>
    [GeneratedRegex(@"\S*\?\S*?\w\S*")]
    private static partial Regex UnknownLetter();

    [GeneratedRegex(@"\((?:Med|Anat)\.\)")]
    private static partial Regex MedicalLabel();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    public static IEnumerable<string> Entries(IEnumerable<string> lines, IReadOnlySet<string> excludedTerms)
    {
        string? term = null;
        var blocks = new List<string>();
        var block = new List<string>();
        bool skip = false;

        string? Finish()
        {
            var text = !skip && term is not null && !excludedTerms.Contains(term.ToLowerInvariant()) ? Clean(blocks) : null;
            blocks.Clear();
            return text is { Length: > 0 } ? text : null;
        }

        foreach (var line in lines.Append(""))
        {
            if (line.Length > 0) { block.Add(line); continue; }
            if (block.Count == 0) continue;
            var joined = string.Join('\n', block);
            block.Clear();
            if (!char.IsWhiteSpace(joined[0]) && Head().Match(joined) is { Success: true } head)
            {
                if (Finish() is { } text) yield return text;
                term = head.Groups["term"].Value.Trim();
                skip = false;
            }
            else if (term is null) continue; // the database's front matter
            skip |= MedicalLabel().IsMatch(joined) || joined.Contains("[WordNet", StringComparison.Ordinal);
            blocks.Add(joined);
        }
        if (Finish() is { } last) yield return last;
    }

    private static string Clean(List<string> blocks) =>
        Spaces().Replace(string.Join(' ', blocks.Select(CleanBlock)), " ").Replace(" ,", ",").Replace(" ;", ";").Replace(" .", ".").Trim();

    /// <summary>One block, in an order that matters: a citation is only recognisable at the block's end once the source tag after it is gone.</summary>
    private static string CleanBlock(string block)
    {
        var text = HeadPronunciation().Replace(RunOn().Replace(Spaces().Replace(block, " ").Trim(), ""), "");
        for (string before = ""; before != text;) { before = text; text = Bracket().Replace(text, ""); }
        text = Citation().Replace(text.Trim(), "");
        return UnknownLetter().Replace(text.Replace("{", "").Replace("}", ""), "");
    }
}
