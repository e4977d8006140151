using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>
/// Expert-level balance loss of DeepSeekMoE / Switch: sum_i f_i * P_i, where f_i is expert i's share of the
/// top-k selections scaled by experts/k (1 under perfect balance) and P_i its mean router probability.
/// It equals 1 for perfectly balanced routing and grows as routing concentrates on few experts; the model's
/// config weights it with <c>aux_loss_alpha</c>.
/// </summary>
public static class LoadBalancingLoss
{
    /// <param name="probabilities">[tokens, experts]</param>
    /// <param name="topKIndices">[tokens, k]</param>
    public static Tensor Compute(Tensor probabilities, Tensor topKIndices)
    {
        long tokens = probabilities.shape[0], experts = probabilities.shape[1], k = topKIndices.shape[1];
        if (tokens == 0) return zeros(1, dtype: probabilities.dtype).squeeze();
        using var scale = (experts / (double)(k * tokens)).ToScalar();
        var selectionShare = topKIndices.flatten().bincount(null, experts).to(probabilities.dtype) * scale;
        var meanProbability = probabilities.mean([0L]);
        return (selectionShare * meanProbability).sum();
    }
}
