using DesMoe.Torch.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Torch.Training;

public static class LanguageModelLoss
{
    /// <summary>Mean cross-entropy over the target positions of <paramref name="targets"/> (ignoring <see cref="SequenceBatch.IgnoreIndex"/>).</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1), ignore_index: SequenceBatch.IgnoreIndex);

    /// <summary>The training objective: <paramref name="lmLoss"/> + <paramref name="auxLossAlpha"/> x the load-balancing loss.</summary>
    public static Tensor WithBalance(Tensor lmLoss, Tensor balanceLoss, double auxLossAlpha)
    {
        using var alpha = auxLossAlpha.ToScalar();
        return lmLoss.add(balanceLoss * alpha, Scalars.One);
    }
}
