using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Torch.Tensors;
using DesMoe.Torch.Training;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>What the trainer measures besides the training loss: validation loss, per-domain loss, ESFT's relevance.</summary>
public sealed partial class AdaptationTrainer
{
    /// <summary>Mean over domains of the loss on (up to 64 of) each domain's held-out examples, under the routing training uses now.</summary>
    private double ValidationLoss(IReadOnlyList<IReadOnlyList<Example>> sets, DomainRouting? routing)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            return sets.Select((set, domain) =>
            {
                using var scope = NewDisposeScope();
                using var batch = SequenceBatch.Create(tokenizer, set.Take(64).ToList(), model.Config.MaxPositions);
                var domainIds = routing is null ? null : Filled.Int64(batch.InputIds.shape[0], domain);
                var logits = model.Forward(batch.InputIds, batch.AttentionMask, domainIds: domainIds, domainRouting: routing).Logits;
                return (double)LanguageModelLoss.CrossEntropy(logits, batch.Targets).item<float>();
            }).Average();
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>ESFT: score each expert's relevance to the domain on the base model's routing, keep the top-p set per layer.</summary>
    private ExpertAssignment EsftAssignment(string domain, IReadOnlyList<Example> examples)
    {
        var config = model.Config;
        var shares = RoutingShares.Of(model, tokenizer, examples.Take(options.EsftRelevanceExamples).ToList(),
            bySelections: options.EsftScore == EsftScore.TokenSelectionRatio);
        var matrix = new SpecificityMatrix([domain], config.NumMoeLayers, config.NumRoutedExperts);
        for (int l = 0; l < config.NumMoeLayers; l++) matrix.Update(l, 0, shares[l], rate: 1.0);
        return matrix.Assign(options.EsftTopP, minSpecificity: 0);
    }

    private static void AccumulateDomainLoss(Tensor perToken, Tensor isTarget, Tensor tokenDomains, ProgressWindow window)
    {
        var losses = perToken.detach().data<float>().ToArray();
        var targets = isTarget.data<bool>().ToArray();
        var owners = tokenDomains.data<long>().ToArray();
        for (int i = 0; i < losses.Length; i++)
            if (targets[i]) window.AddDomainLoss((int)owners[i], losses[i]);
    }

    private static string Describe(ExpertAssignment assignment, int layer) =>
        string.Join("; ", assignment.Domains.Select((d, i) => $"{d}=[{string.Join(",", assignment.Experts[layer][i])}]"));
}
