using DesMoe.Formats.Data;
using DesMoe.Formats.Probes;

namespace DesMoe.Server.DomainInference;

/// <summary>
/// The reference prompts that stand for "no served domain" in domain inference: general text, and prompts of every
/// built-in task format the version does not serve (math, law, translation, ...). General text is the model folder's
/// own general probes when it carries them (<see cref="ProbeFolder"/>: held-out passages and task prompts of what it
/// was pre-trained on), otherwise the built-in general set (string skills). With the general set alone, a prompt
/// of a kind no class stood for went to whichever served domain it routed most like: on the default base-v2 model,
/// after adding intent, "translate to English: Haus" was inferred as intent (93 %) and answered play_music.
/// </summary>
public static class GeneralReference
{
    /// <summary>Seeds the unserved formats' prompts, apart from the seeds data generation and training use.</summary>
    public const int Seed = 4_242;

    /// <param name="servedDomains">the version's domains: their built-in formats are classes of their own, not general text</param>
    /// <param name="count">general prompts (shared evenly among the probes); each unserved format adds a quarter as many</param>
    /// <param name="probes">the model folder's general probes, or null for the built-in general set</param>
    public static IReadOnlyList<string> Prompts(IReadOnlyCollection<string> servedDomains, int count, ProbeSet? probes = null)
    {
        var prompts = probes is null ? GeneralSet.HeldOut(count).Select(e => e.Prompt).ToList() : ProbePrompts(probes, count);
        int perFormat = Math.Max(1, count / 4);
        foreach (var format in DomainCatalog.Domains.Where(d => !servedDomains.Contains(d.Domain)))
            prompts.AddRange(DatasetSplit.Generate(format, perFormat, Seed).Select(e => e.Prompt));
        return prompts;
    }

    /// <summary>A task probe's prompts, or a text probe's passages (which have no prompt): what a general request looks like.</summary>
    private static List<string> ProbePrompts(ProbeSet probes, int count)
    {
        int perProbe = Math.Max(1, count / probes.Probes.Count);
        return probes.Probes.SelectMany(p => p.Examples.Take(perProbe).Select(e => p.Metric == ProbeMetric.NextTokenAccuracy ? e.Completion : e.Prompt)).ToList();
    }
}
