using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Formats.Evaluation;

namespace DesMoe.Torch.Evaluation;

/// <summary>A named held-out set: a domain's, or <see cref="DomainCatalog.GeneralName"/> for the no-domain path, scored by <paramref name="Metric"/>.</summary>
public sealed record EvaluationSet(string Name, IReadOnlyList<Example> Examples, TaskMetric Metric = TaskMetric.ExactMatch);

/// <summary>Exact-match accuracy of held-out sets under the routing the exported model serves them with.</summary>
public static class RoutedEvaluation
{
    /// <summary>
    /// A domain's set runs through its domain id and the assignment's routing table (as in the ONNX graph); the general
    /// set runs through the no-domain path. Without an assignment every set runs through the plain router.
    /// </summary>
    public static Dictionary<string, ExactMatchResult> Evaluate(MoeTransformer model, ITextTokenizer tokenizer, ExpertAssignment? assignment,
        NoDomainRouting noDomain, IEnumerable<EvaluationSet> sets)
    {
        using var routing = assignment is null ? null : DomainRouting.For(assignment, model.Config.TopK, noDomain);
        var results = new Dictionary<string, ExactMatchResult>();
        foreach (var set in sets)
        {
            int domainId = ExpertAssignment.NoDomain;
            if (set.Name != DomainCatalog.GeneralName && assignment is not null)
            {
                domainId = assignment.Domains.ToList().IndexOf(set.Name);
                if (domainId < 0) throw new KeyNotFoundException($"no domain '{set.Name}' in the assignment; its domains are [{string.Join(", ", assignment.Domains)}]");
            }
            results[set.Name] = ExactMatchEvaluator.Evaluate(model, tokenizer, set.Examples, domainId: domainId, domainRouting: routing, metric: set.Metric);
        }
        return results;
    }

    /// <summary>Every set (domains' included) through the no-domain path, as requests that name no domain are served.</summary>
    public static Dictionary<string, ExactMatchResult> EvaluateUnlabelled(MoeTransformer model, ITextTokenizer tokenizer, ExpertAssignment? assignment,
        NoDomainRouting noDomain, IEnumerable<EvaluationSet> sets)
    {
        using var routing = assignment is null ? null : DomainRouting.For(assignment, model.Config.TopK, noDomain);
        return sets.ToDictionary(s => s.Name, s => ExactMatchEvaluator.Evaluate(model, tokenizer, s.Examples,
            domainId: ExpertAssignment.NoDomain, domainRouting: routing, metric: s.Metric));
    }
}
