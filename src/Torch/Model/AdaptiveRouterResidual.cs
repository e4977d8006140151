using DesMoe.Formats.Architectures;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>
/// The MLP half of DES-MoE's adaptive lightweight router: W2 GELU(W1 h + b1) + b2, added to the pre-trained linear
/// gate's logits. The paper's MLP router cannot start as a copy of a d x E gate (its first layer is d x 4d), so the
/// router here is the pre-trained gate plus this residual with W2 and b2 zero: at step 0 it adds exactly 0 to every
/// logit, so routing equals the pre-trained router's bit for bit, and training grows the residual from there.
/// </summary>
public sealed class AdaptiveRouterResidual : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = TensorNames.AdapterFc1)] private readonly Linear _fc1;
    [ComponentName(Name = TensorNames.AdapterFc2)] private readonly Linear _fc2;

    /// <param name="hiddenSize">the router input width d</param>
    /// <param name="width">the MLP's hidden width (the paper: 4d)</param>
    /// <param name="numExperts">routed experts E</param>
    public AdaptiveRouterResidual(int hiddenSize, int width, int numExperts) : base(nameof(AdaptiveRouterResidual))
    {
        _fc1 = nn.Linear(hiddenSize, width, hasBias: true);
        _fc2 = nn.Linear(width, numExperts, hasBias: true);
        RegisterComponents();
        using var noGrad = no_grad();
        nn.init.normal_(_fc1.weight!, 0.0, 0.02);
        nn.init.zeros_(_fc1.bias!);
        nn.init.zeros_(_fc2.weight!);
        nn.init.zeros_(_fc2.bias!);
    }

    /// <param name="tokens">[tokens, hidden]</param>
    /// <returns>[tokens, experts] logit corrections</returns>
    public override Tensor forward(Tensor tokens) => _fc2.Apply(nn.functional.gelu(_fc1.Apply(tokens)));
}
