using DesMoe.Formats.Data;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using static TorchSharp.torch;

namespace DesMoe.Torch.Evaluation;

/// <summary>
/// Mean next-token loss (nats per target token) of a model on held-out examples, the measure behind a perplexity;
/// the targets are the completion tokens and the end token, as in training. Tokens are weighted equally across batches.
/// </summary>
public static class HeldOutLoss
{
    public static double Compute(MoeTransformer model, ITextTokenizer tokenizer, IReadOnlyList<Example> examples, int batchSize = 32)
    {
        if (examples.Count == 0) throw new ArgumentException("no held-out examples", nameof(examples));
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double total = 0;
            long tokens = 0;
            foreach (var chunk in examples.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = SequenceBatch.Create(tokenizer, chunk, model.Config.MaxPositions);
                var logits = model.Forward(batch.InputIds, batch.AttentionMask).Logits;
                total += LanguageModelLoss.CrossEntropy(logits, batch.Targets).item<float>() * (double)batch.TargetTokens;
                tokens += batch.TargetTokens;
            }
            return total / tokens;
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
