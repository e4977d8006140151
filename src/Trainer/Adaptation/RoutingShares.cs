using DesMoe.Formats.Data;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>How a set of examples uses the routed experts of a (frozen) model, per layer.</summary>
internal static class RoutingShares
{
    /// <summary>
    /// Per layer, each routed expert's share (summing to 1) of the examples' real tokens, by the router probability
    /// they give it (ESFT's gate score) or by how often it is among their top-k selections (token-selection ratio).
    /// Runs the model in eval mode without domain routing.
    /// </summary>
    public static double[][] Of(MoeTransformer model, ITextTokenizer tokenizer, IReadOnlyList<Example> examples, bool bySelections)
    {
        var config = model.Config;
        var share = Enumerable.Range(0, config.NumMoeLayers).Select(_ => new double[config.NumRoutedExperts]).ToArray();
        model.eval();
        using (no_grad())
            foreach (var chunk in examples.Chunk(64))
            {
                using var scope = NewDisposeScope();
                using var batch = SequenceBatch.Create(tokenizer, chunk, config.MaxPositions);
                var routing = model.Forward(batch.InputIds, batch.AttentionMask).Routing;
                var real = batch.AttentionMask.view(-1);
                for (int l = 0; l < routing.Count; l++)
                {
                    var score = bySelections
                        ? routing[l].TopKIndices[real].flatten().bincount(null, config.NumRoutedExperts).to(float32)
                        : routing[l].Probabilities[real].sum([0L]);
                    var values = score.to(float64).data<double>().ToArray();
                    for (int e = 0; e < values.Length; e++) share[l][e] += values[e];
                }
            }
        foreach (var layer in share)
        {
            double total = layer.Sum();
            for (int e = 0; e < layer.Length; e++) layer[e] /= total;
        }
        return share;
    }
}
