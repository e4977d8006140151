using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Probes;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Evaluation;

namespace DesMoe.Worker;

/// <summary>One score the gate protects (0..1), the examples it rests on, and whether it is a text probe's next-token accuracy.</summary>
public readonly record struct ProtectedScore(double Score, int Examples, bool Text = false);

/// <summary>What the regression gate protects, measured on the model as it stands: before the job, and again after it.</summary>
public static class GateScores
{
    /// <summary>Prefixes each general probe's score name, e.g. <c>general/text:gcide</c>.</summary>
    public const string ProbePrefix = DomainCatalog.GeneralName + "/";

    /// <summary>
    /// Every earlier domain's held-out set under its own routing (exact match), and general ability on the no-domain
    /// path: the model folder's probes when it has them (<paramref name="probes"/>), otherwise the
    /// <see cref="DomainCatalog.GeneralName"/> set among <paramref name="earlier"/>.
    /// </summary>
    /// <returns>the scores by name</returns>
    public static Dictionary<string, ProtectedScore> Measure(LoadedModel loaded, ExpertAssignment assignment, ProbeSet? probes,
        IReadOnlyList<EvaluationSet> earlier, int perProbe)
    {
        var sets = probes is null ? earlier : earlier.Where(s => s.Name != DomainCatalog.GeneralName).ToList();
        var scores = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, assignment, NoDomainRouting.AllExperts, sets)
            .ToDictionary(kv => kv.Key, kv => new ProtectedScore(kv.Value.Accuracy, kv.Value.Total));
        if (probes is null) return scores;
        var probeScores = ProbeEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, probes.Probes, assignment, NoDomainRouting.AllExperts, perProbe);
        foreach (var probe in probes.Probes)
        {
            var (score, examples) = probeScores[probe.Name];
            scores[ProbePrefix + probe.Name] = new ProtectedScore(score, examples, probe.Metric == ProbeMetric.NextTokenAccuracy);
        }
        return scores;
    }
}
