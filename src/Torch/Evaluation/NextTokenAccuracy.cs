using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using static TorchSharp.torch;

namespace DesMoe.Torch.Evaluation;

/// <summary>
/// Fraction of held-out target tokens the model predicts exactly (argmax of the logits = the next token): a
/// language-modelling probe of general text that, unlike a loss, lives on the same 0..1 scale as the task probes,
/// so it averages with them. Runs through the no-domain path of <paramref name="routing"/> when one is given, as an
/// unlabelled request is served.
/// </summary>
public static class NextTokenAccuracy
{
    public static double Compute(MoeTransformer model, ITextTokenizer tokenizer, IReadOnlyList<Example> examples, DomainRouting? routing = null, int batchSize = 32)
    {
        if (examples.Count == 0) throw new ArgumentException("no held-out examples", nameof(examples));
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            long correct = 0, total = 0;
            foreach (var chunk in examples.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = SequenceBatch.Create(tokenizer, chunk, model.Config.MaxPositions);
                var domains = routing is null ? null : Filled.Int64(batch.InputIds.shape[0], ExpertAssignment.NoDomain);
                var predicted = model.Forward(batch.InputIds, batch.AttentionMask, domainIds: domains, domainRouting: routing).Logits.argmax(-1);
                var isTarget = batch.Targets.ne(SequenceBatch.IgnoreIndexScalar);
                correct += predicted.eq(batch.Targets).logical_and(isTarget).sum().item<long>();
                total += batch.TargetTokens;
            }
            return correct / (double)total;
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
