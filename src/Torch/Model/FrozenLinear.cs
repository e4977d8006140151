using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>
/// x W^T + b for a frozen weight held in 16 bits, differentiable in x only, that keeps nothing float32 for backward.
/// The plain product widens W to float32 and autograd keeps that copy until backward needs it for x's gradient:
/// 1.2 GB for a bf16 Qwen1.5-MoE LM head, held through every training step of AddDomain, ESFT and any method that
/// freezes the backbone. Here backward widens W again, slice by slice, as the forward did
/// (<see cref="StoredWeights.Linear"/> without a gradient to record): what autograd keeps is the bf16 weight itself.
/// </summary>
internal sealed class FrozenLinear : autograd.SingleTensorFunction<FrozenLinear>
{
    public override string Name => nameof(FrozenLinear);

    /// <param name="vars">x [..., in], the weight [out, in] and the bias [out] or null, neither requiring a gradient</param>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (x, weight, bias) = ((Tensor)vars[0], (Tensor)vars[1], vars[2] as Tensor);
        ctx.save_for_backward([weight]);
        using var noGrad = no_grad();
        return StoredWeights.Linear(x, weight, bias);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var weight = ctx.get_saved_variables()[0];
        using var noGrad = no_grad();
        return [StoredWeights.TransposedProduct(gradOutput, weight), null!, null!];
    }

    /// <summary>x W^T + b, with x's gradient but none for the frozen <paramref name="weight"/> and <paramref name="bias"/>.</summary>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias) => apply(x, weight, bias!);
}
