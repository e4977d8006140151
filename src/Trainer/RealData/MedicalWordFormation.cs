using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Medicine as reading a clinical term by its Greek and Latin parts, the way medical terminology is taught: a root
/// names an organ (<c>nephr</c>, kidney) and a suffix what happens to it (<c>-itis</c>, inflammation); the question
/// is which organ a term concerns, <c>organ: nephritis</c> -> <c>kidney</c>. Training has some of the root and suffix
/// combinations and a glossary of the roots alone; validation and test have the other combinations, each of a root
/// and a suffix training uses, so a held-out question asks the model to read a term it never saw rather than recall
/// one no data contains. Asked for the whole definition (<c>kidney inflammation</c>) base-v2 reached 6-16% after
/// the comparison's budget of full fine-tuning, the organ mostly right and the suffix's meaning mostly wrong; asked
/// for the organ, 78% (docs/domains.md).
/// </summary>
public static class MedicalWordFormation
{
    public const string PromptPrefix = "organ: ";

    public sealed record Part(string Form, string Meaning);

    /// <summary>Roots that end in a consonant, so joining them to a suffix needs no elision.</summary>
    public static IReadOnlyList<Part> Roots { get; } =
    [
        new("hepat", "liver"), new("nephr", "kidney"), new("gastr", "stomach"), new("arthr", "joint"),
        new("neur", "nerve"), new("rhin", "nose"), new("ot", "ear"), new("col", "colon"),
        new("cyst", "bladder"), new("encephal", "brain"), new("dermat", "skin"), new("mast", "breast"),
        new("laryng", "larynx"), new("pneumon", "lung"), new("phleb", "vein"), new("aden", "gland"),
        new("splen", "spleen"), new("pancreat", "pancreas"), new("bronch", "bronchus"), new("gingiv", "gum"),
        new("tonsill", "tonsil"), new("ophthalm", "eye"), new("cephal", "head"), new("hemat", "blood"),
        new("pharyng", "throat"), new("esophag", "oesophagus"), new("hyster", "uterus"), new("prostat", "prostate"),
        new("cholecyst", "gallbladder"), new("enter", "intestine"),
    ];

    /// <summary>Suffixes, each with its meaning (not asked: the definition form was not learned in the comparison's budget).</summary>
    public static IReadOnlyList<Part> Suffixes { get; } =
    [
        new("itis", "inflammation"), new("algia", "pain"), new("ectomy", "removal"), new("otomy", "incision"),
        new("ostomy", "opening"), new("oma", "tumour"), new("osis", "disorder"), new("ology", "study"),
        new("ologist", "specialist"), new("megaly", "enlargement"), new("scopy", "examination"), new("plasty", "repair"),
        new("pathy", "disease"),
    ];

    /// <summary>Root and suffix joined, with the combining vowel <c>o</c> before a suffix that starts with a consonant (<c>nephromegaly</c>).</summary>
    public static string Term(Part root, Part suffix) => root.Form + ("aeiou".Contains(suffix.Form[0]) ? "" : "o") + suffix.Form;

    public static Example Example(Part root, Part suffix) => new(PromptPrefix + Term(root, suffix), root.Meaning);

    /// <summary>A root taught on its own, as a glossary gives it: <c>organ: nephr-</c> -> <c>kidney</c>.</summary>
    public static IEnumerable<Example> Glossary() => Roots.Select(r => new Example($"{PromptPrefix}{r.Form}-", r.Meaning));

    /// <summary>
    /// Every combination, shuffled; training keeps all but 2 x <paramref name="heldOut"/> (an eighth of the
    /// combinations each, but never under <see cref="RealDomainPreparer.MinimumHeldOut"/>) and the held-out sets take
    /// only combinations whose root and suffix training has; the rest go to training too, and so does the glossary of
    /// every root alone. (With 16 roots, a quarter held out each and no glossary, full fine-tuning reached 16% of the
    /// test set in the comparison's budget, short of its 20-point bar; docs/domains.md.)
    /// </summary>
    public static DomainSplits Split(int heldOut, int seed)
    {
        var random = new Random(seed);
        var all = Roots.SelectMany(r => Suffixes.Select(s => (Root: r, Suffix: s))).OrderBy(_ => random.Next()).ToList();
        int held = Math.Min(heldOut, Math.Max(RealDomainPreparer.MinimumHeldOut, all.Count / 8));
        var train = all.Take(all.Count - 2 * held).ToList();
        var candidates = all.Skip(train.Count).ToList();
        var heldOutSet = new List<(Part Root, Part Suffix)>();
        foreach (var pair in candidates)
        {
            if (train.Any(t => t.Root == pair.Root) && train.Any(t => t.Suffix == pair.Suffix)) heldOutSet.Add(pair);
            else train.Add(pair);
        }
        int half = heldOutSet.Count / 2;
        return new DomainSplits(train.Select(p => Example(p.Root, p.Suffix)).Concat(Glossary()).OrderBy(_ => random.Next()).ToList(),
            heldOutSet.Skip(half).Select(p => Example(p.Root, p.Suffix)).ToList(),
            heldOutSet.Take(half).Select(p => Example(p.Root, p.Suffix)).ToList());
    }
}
