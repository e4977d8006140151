using DesMoe.Core.Model;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>DES-MoE's retention term: how far the router has moved from the frozen pre-trained router on the same inputs.</summary>
public static class RouterDistillation
{
    /// <summary>Mean over tokens of KL(p_reference || p_current) between two routers' softmax distributions.</summary>
    /// <param name="referenceLogits">[tokens, experts] from the frozen pre-trained router (no gradient)</param>
    /// <param name="currentLogits">[tokens, experts] from the router being trained</param>
    public static Tensor KlDivergence(Tensor referenceLogits, Tensor currentLogits)
    {
        if (referenceLogits.shape[0] == 0) return zeros(1, dtype: currentLogits.dtype).squeeze();
        var referenceLog = referenceLogits.log_softmax(-1);
        var currentLog = currentLogits.log_softmax(-1);
        return (referenceLog.exp() * (referenceLog - currentLog)).sum(-1).mean();
    }

    /// <summary>
    /// Mean over MoE layers of KL(reference router || current router) over every expert, on the real tokens' router
    /// inputs. Taken from the inputs rather than <see cref="RouterOutput.Logits"/>, which domain routing masks to -inf
    /// (that would make the KL infinite).
    /// </summary>
    /// <param name="referenceRouters">per layer, the frozen pre-trained router weight [experts, hidden]</param>
    internal static Tensor Drift(MoeTransformer model, IReadOnlyList<RouterOutput> routing, DisposableTensors referenceRouters, Tensor realTokens)
    {
        var layers = model.Layers;
        return stack(routing.Select((r, l) =>
        {
            var inputs = r.Inputs[realTokens];
            return KlDivergence(inputs.detach().matmul(referenceRouters[l].t()), inputs.matmul(layers[l].Moe.Router.Weight.t()));
        }).ToList()).mean();
    }
}

/// <summary>
/// The distillation weight, adapted to the measured router drift the way PPO adapts its KL penalty: drift above
/// 1.5x the target raises the weight by the factor, drift below target/1.5 lowers it; bounded both ways.
/// Retention pressure therefore grows only when routing actually wanders from the pre-trained router.
/// </summary>
public sealed class AdaptiveDistillationWeight(double initial, double targetKl, double factor = 1.5, double min = 1e-3, double max = 100)
{
    public double Value { get; private set; } = initial;

    public void Observe(double kl)
    {
        if (kl > 1.5 * targetKl) Value = Math.Min(max, Value * factor);
        else if (kl < targetKl / 1.5) Value = Math.Max(min, Value / factor);
    }
}
