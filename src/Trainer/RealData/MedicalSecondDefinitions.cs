using System.Text.RegularExpressions;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Medicine as naming a term from a second dictionary's definition: training has GCIDE's medical definition of each
/// of a few terms (<see cref="GcideMedicalTerms"/>), validation and test WordNet's definition of the same terms, so a
/// held-out question asks for a term the model was taught, described in words it was not (<c>medical term:
/// inflammation of the liver</c> -> <c>hepatitis</c>), rather than for a term no training example contains.
/// </summary>
public static partial class MedicalSecondDefinitions
{
    /// <summary>
    /// WordNet lexicographer files a medical sense belongs to: adjectives (00, 01), acts such as surgery (04),
    /// attributes (07), the body (08), phenomena (19), processes (22), states such as diseases (26), substances such
    /// as drugs (27) and bodily verbs (29); not animals, plants or groups, where GCIDE's medical words also name a genus.
    /// </summary>
    private static readonly HashSet<int> MedicalLexFiles = [0, 1, 4, 7, 8, 19, 22, 26, 27, 29];

    [GeneratedRegex(@"[a-z]+")]
    private static partial Regex Word();

    /// <summary>
    /// WordNet definitions of GCIDE's medical terms: from synsets of a medical kind that have the term among their words, do not give
    /// it away (no word of the definition starts with it) and name no other of the terms; at most
    /// <paramref name="maxChars"/> long. Keyed by term.
    /// </summary>
    public static Dictionary<string, List<string>> WordNetDefinitions(IReadOnlyList<Example> gcide, IEnumerable<WordNetGlosses.Synset> synsets, int maxChars = 160)
    {
        var terms = gcide.Select(e => e.Completion).ToHashSet(StringComparer.Ordinal);
        var gcideDefinitions = gcide.Select(e => e.Prompt[GcideMedicalTerms.PromptPrefix.Length..].ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        var byTerm = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var synset in synsets)
        {
            var named = synset.Lemmas.Select(l => l.ToLowerInvariant()).Where(terms.Contains).Distinct().ToList();
            if (named.Count != 1 || !MedicalLexFiles.Contains(synset.LexFile) || synset.Definition.Length is 0 || synset.Definition.Length > maxChars) continue;
            var term = named[0];
            if (Word().Matches(synset.Definition.ToLowerInvariant()).Any(w => w.Value.StartsWith(term, StringComparison.Ordinal))) continue;
            if (gcideDefinitions.Contains(synset.Definition.ToLowerInvariant())) continue; // not a second definition
            if (!byTerm.TryGetValue(term, out var list)) byTerm[term] = list = [];
            if (!list.Contains(synset.Definition)) list.Add(synset.Definition);
        }
        return byTerm;
    }

    /// <summary>
    /// <paramref name="terms"/> terms that have a WordNet definition, chosen at random: training is their GCIDE
    /// definitions, validation and test (at most <paramref name="heldOut"/> each) their WordNet definitions, split by
    /// definition; WordNet definitions beyond the held-out sets are trained on too. A definition two terms share
    /// is left out.
    /// </summary>
    public static DomainSplits Split(IReadOnlyList<Example> gcide, IEnumerable<WordNetGlosses.Synset> synsets, int terms, int heldOut, int seed)
    {
        var wordNet = WordNetDefinitions(gcide, synsets);
        var random = new Random(seed);
        var chosen = wordNet.Keys.Order(StringComparer.Ordinal).OrderBy(_ => random.Next()).Take(terms).ToHashSet(StringComparer.Ordinal);
        var second = chosen.SelectMany(t => wordNet[t].Select(d => new Example(GcideMedicalTerms.PromptPrefix + d, t)))
            .GroupBy(e => e.Prompt, StringComparer.Ordinal).Where(g => g.Count() == 1).Select(g => g.Single()).ToList();
        var gcideOfChosen = gcide.Where(e => chosen.Contains(e.Completion)).ToList();
        var gcidePrompts = gcideOfChosen.Select(e => e.Prompt).ToHashSet(StringComparer.Ordinal);
        second.RemoveAll(e => gcidePrompts.Contains(e.Prompt));
        var shuffled = second.OrderBy(_ => random.Next()).ToList();
        int held = Math.Min(heldOut, shuffled.Count / 2);
        var test = shuffled.Take(held).ToList();
        var validation = shuffled.Skip(held).Take(held).ToList();
        var train = gcideOfChosen.Concat(shuffled.Skip(2 * held)).OrderBy(_ => random.Next()).ToList();
        return new DomainSplits(train, validation, test);
    }
}
