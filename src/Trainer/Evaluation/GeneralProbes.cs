using DesMoe.Formats.Data;
using DesMoe.Trainer.RealData;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Probes;

namespace DesMoe.Trainer.Evaluation;

/// <summary>How a general probe is scored: greedy exact match of a task's completions, or next-token accuracy on text.</summary>
public enum ProbeKind
{
    ExactMatch,
    NextToken,
}

/// <summary>One measure of general ability, on held-out data no adaptation trains on.</summary>
public sealed record GeneralProbe(string Name, IReadOnlyList<Example> Examples, ProbeKind Kind);

/// <summary>Each probe's score (0..1) and their mean, the "general average" of the paper's Table 2.</summary>
public sealed record GeneralScores(IReadOnlyDictionary<string, double> Scores)
{
    public double Average => Scores.Values.Average();
}

/// <summary>
/// General ability as the paper measures it: several probes, averaged, always on the model as served without a
/// domain label. Here: the string skills of the general set and next-token accuracy on the held-out passages of each
/// general-English source <c>desmoe data prepare</c> wrote, all of which base-v2 scores above 0. The reverse
/// dictionary is not a probe: base-v2 scores 0 on it untuned, both on held-out words and on words formed from their
/// definition (docs/domains.md), so it would only pull every row's average down by the same amount. Probes are
/// scored, never tuned on.
/// </summary>
public static class GeneralProbes
{
    /// <param name="prepared">a <c>desmoe data prepare</c> folder</param>
    /// <param name="perProbe">held-out examples (passages, for text) per probe</param>
    public static IReadOnlyList<GeneralProbe> FromPrepared(string prepared, int perProbe)
    {
        var probes = new List<GeneralProbe>
        {
            new("skills", GeneralSet.HeldOut(perProbe), ProbeKind.ExactMatch),
        };
        var general = Path.Combine(prepared, RealDomainPreparer.GeneralFolder);
        var texts = Directory.Exists(general) ? Directory.GetFiles(general, "*.eval.txt").Order(StringComparer.Ordinal).ToList() : [];
        if (texts.Count == 0) throw new FileNotFoundException($"{general}: no *.eval.txt passages; run `desmoe data prepare --out {prepared}` first", general);
        foreach (var path in texts)
            probes.Add(new("next-token:" + Path.GetFileName(path)[..^".eval.txt".Length],
                File.ReadLines(path).Where(l => l.Length > 0).Take(perProbe).Select(l => new Example("", l)).ToList(), ProbeKind.NextToken));
        return probes;
    }

    /// <summary>
    /// Every probe through the no-domain path: the plain router, or for a domain-routed model the routing table's
    /// no-domain row (<paramref name="assignment"/>), as an unlabelled request is served. Examples beyond the
    /// model's context are left out.
    /// </summary>
    public static GeneralScores Evaluate(MoeTransformer model, ITextTokenizer tokenizer, IReadOnlyList<GeneralProbe> probes,
        ExpertAssignment? assignment = null, NoDomainRouting noDomain = NoDomainRouting.UnassignedExperts)
    {
        var heldOut = probes.Select(p => new HeldOutProbe(p.Name, p.Kind == ProbeKind.NextToken ? ProbeMetric.NextTokenAccuracy : ProbeMetric.ExactMatch, p.Examples)).ToList();
        var scores = ProbeEvaluation.Evaluate(model, tokenizer, heldOut, assignment, noDomain, perProbe: int.MaxValue);
        return new GeneralScores(scores.ToDictionary(kv => kv.Key, kv => kv.Value.Score));
    }
}
