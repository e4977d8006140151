using DesMoe.Formats.Data;

namespace DesMoe.Server.DomainInference;

/// <summary>
/// The reference prompts that stand for "no served domain" in domain inference: the general set, and prompts of every
/// built-in task format the version does not serve (math, law, translation, ...). With the general set alone, a prompt
/// of a kind no class stood for went to whichever served domain it routed most like: on the default base-v2 model,
/// after adding intent, "translate to English: Haus" was inferred as intent (93 %) and answered play_music.
/// </summary>
public static class GeneralReference
{
    /// <summary>Seeds the unserved formats' prompts, apart from the seeds data generation and training use.</summary>
    public const int Seed = 4_242;

    /// <param name="servedDomains">the version's domains: their built-in formats are classes of their own, not general text</param>
    /// <param name="count">general-set prompts; each unserved format adds a quarter as many</param>
    public static IReadOnlyList<string> Prompts(IReadOnlyCollection<string> servedDomains, int count)
    {
        var prompts = GeneralSet.HeldOut(count).Select(e => e.Prompt).ToList();
        int perFormat = Math.Max(1, count / 4);
        foreach (var format in DomainCatalog.Domains.Where(d => !servedDomains.Contains(d.Domain)))
            prompts.AddRange(DatasetSplit.Generate(format, perFormat, Seed).Select(e => e.Prompt));
        return prompts;
    }
}
