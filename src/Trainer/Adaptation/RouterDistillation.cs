using DesMoe.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>DES-MoE's retention term: how far the router has moved from the frozen pre-trained router on the same inputs.</summary>
public static class RouterDistillation
{
    /// <summary>Mean over tokens of KL(softmax(reference / tau) || softmax(current / tau)).</summary>
    /// <param name="referenceLogits">[tokens, experts] from the frozen pre-trained router (no gradient)</param>
    /// <param name="currentLogits">[tokens, experts] from the router being trained</param>
    /// <param name="temperature">tau (the paper: 0.7; 1 = the routers' own distributions)</param>
    public static Tensor KlDivergence(Tensor referenceLogits, Tensor currentLogits, double temperature = 1)
    {
        if (referenceLogits.shape[0] == 0) return zeros(1, dtype: currentLogits.dtype).squeeze();
        using var tau = temperature.ToScalar();
        var referenceLog = referenceLogits.div(tau).log_softmax(-1);
        var currentLog = currentLogits.div(tau).log_softmax(-1);
        return (referenceLog.exp() * (referenceLog - currentLog)).sum(-1).mean();
    }

    /// <summary>
    /// Mean over MoE layers of KL(reference router || current router) over every expert, on the real tokens' router
    /// inputs. Taken from the inputs rather than <see cref="RouterOutput.Logits"/>, which domain routing masks to -inf
    /// (that would make the KL infinite). The current router is scored whole (linear gate plus any adaptive residual).
    /// </summary>
    /// <param name="referenceRouters">per layer, the frozen pre-trained router weight [experts, hidden]</param>
    /// <param name="routerOnly">detach the inputs, so the term trains the router alone (DES-MoE's router loss)
    /// rather than also pulling the backbone's hidden states towards the reference</param>
    internal static Tensor Drift(MoeTransformer model, IReadOnlyList<RouterOutput> routing, DisposableTensors referenceRouters, Tensor realTokens,
        double temperature = 1, bool routerOnly = false)
    {
        var layers = model.Layers;
        return stack(routing.Select((r, l) =>
        {
            var inputs = r.Inputs[realTokens];
            var studentInputs = routerOnly ? inputs.detach() : inputs;
            return KlDivergence(inputs.detach().matmul(referenceRouters[l].t()), layers[l].Moe.Router.Score(studentInputs), temperature);
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

/// <summary>
/// The paper's distillation weight lambda(a): <c>initial * max(0, 1 - a)</c> at training progress a = step / steps,
/// so the router starts held to the pre-trained one and is free of it by the end. The router's loss is
/// lambda * L_KD + (1 - lambda) * L_task.
/// </summary>
public sealed record LinearDistillationWeight(double Initial, int TotalSteps)
{
    public double At(int step) => Initial * Math.Max(0, 1 - step / (double)TotalSteps);
}
