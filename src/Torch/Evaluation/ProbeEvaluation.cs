using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Probes;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Model;

namespace DesMoe.Torch.Evaluation;

/// <summary>Scores a model folder's general probes (<see cref="ProbeFolder"/>) on the no-domain path, as unlabelled requests are served.</summary>
public static class ProbeEvaluation
{
    /// <param name="assignment">the model's domains, whose routing table's no-domain row the probes run through; null for the plain router</param>
    /// <param name="perProbe">examples taken from the start of each probe (those beyond the model's context are left out)</param>
    /// <returns>each probe's score (0..1) and the examples it rests on, by probe name</returns>
    public static Dictionary<string, (double Score, int Examples)> Evaluate(MoeTransformer model, ITextTokenizer tokenizer, IReadOnlyList<HeldOutProbe> probes,
        ExpertAssignment? assignment, NoDomainRouting noDomain, int perProbe)
    {
        if (perProbe < 1) throw new ArgumentOutOfRangeException(nameof(perProbe), perProbe, "at least one example per probe");
        using var routing = assignment is null ? null : DomainRouting.For(assignment, model.Config.TopK, noDomain);
        var scores = new Dictionary<string, (double, int)>();
        foreach (var probe in probes)
        {
            var examples = Fitting(probe, tokenizer, model.Config.MaxPositions).Take(perProbe).ToList();
            double score = probe.Metric == ProbeMetric.NextTokenAccuracy
                ? NextTokenAccuracy.Compute(model, tokenizer, examples, routing)
                : ExactMatchEvaluator.Evaluate(model, tokenizer, examples, domainRouting: routing).Accuracy;
            scores[probe.Name] = (score, examples.Count);
        }
        return scores;
    }

    private static List<Example> Fitting(HeldOutProbe probe, ITextTokenizer tokenizer, int maxPositions)
    {
        var fitting = probe.Examples.Where(e => PromptFormat.Fits(tokenizer, e, maxPositions)).ToList();
        return fitting.Count > 0 ? fitting : throw new ArgumentException($"probe '{probe.Name}' has no example within the model's {maxPositions} positions");
    }
}
