using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// How much each free expert matters to what a model already does: per layer and expert, the rise in the reference
/// sets' loss when that one expert is taken away from every routing row that may use it now (each set under the
/// routing it is served with). Experts that cost least are the ones a new domain can take over with the least forgetting.
/// </summary>
public static class ExpertRemovalCost
{
    /// <param name="current">the served assignment; its experts are not free and cost +infinity</param>
    /// <param name="reference">the general set (<see cref="DomainCatalog.GeneralName"/>, the no-domain path) and domains' held-out sets</param>
    /// <param name="examples">examples in all, split evenly over the non-empty reference sets</param>
    public static double[][] Measure(MoeTransformer model, ITextTokenizer tokenizer, ExpertAssignment current,
        IReadOnlyList<EvaluationSet> reference, int examples)
    {
        var config = model.Config;
        var assigned = current.AssignedPerLayer();
        var unknown = reference.FirstOrDefault(r => r.Name != DomainCatalog.GeneralName && !current.Domains.Contains(r.Name));
        if (unknown is not null) throw new ArgumentException($"reference set '{unknown.Name}' is not a domain of the model ([{string.Join(", ", current.Domains)}])");
        var nonEmpty = reference.Where(r => r.Examples.Count > 0).ToList();
        if (nonEmpty.Count == 0) throw new ArgumentException("no reference examples to measure expert removal costs on");
        int perSet = Math.Max(1, examples / nonEmpty.Count);
        var sets = nonEmpty.Select(r => (Examples: r.Examples.Take(perSet).ToList(),
            DomainId: r.Name == DomainCatalog.GeneralName ? ExpertAssignment.NoDomain : current.Domains.ToList().IndexOf(r.Name))).ToList();

        double Loss(ExpertAssignment assignment)
        {
            using var routing = DomainRouting.For(assignment, config.TopK, NoDomainRouting.AllExperts);
            double total = 0;
            foreach (var (setExamples, domainId) in sets)
            {
                using var scope = NewDisposeScope();
                using var batch = SequenceBatch.Create(tokenizer, setExamples, config.MaxPositions);
                var logits = model.Forward(batch.InputIds, batch.AttentionMask, domainIds: Filled.Int64(setExamples.Count, domainId), domainRouting: routing).Logits;
                total += LanguageModelLoss.CrossEntropy(logits, batch.Targets).item<float>();
            }
            return total / sets.Count;
        }

        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double baseline = Loss(current);
            return Enumerable.Range(0, config.NumMoeLayers).Select(l => Enumerable.Range(0, config.NumRoutedExperts).Select(e =>
            {
                if (assigned[l].Contains(e)) return double.PositiveInfinity;
                var probe = current.WithExclusiveDomain("\u0001probe",
                    Enumerable.Range(0, config.NumMoeLayers).Select(layer => layer == l ? new[] { e } : []).ToList());
                return Loss(probe) - baseline;
            }).ToArray()).ToArray();
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
