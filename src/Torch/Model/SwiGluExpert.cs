using DesMoe.Formats.Architectures;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>One feed-forward expert: down(silu(gate(x)) * up(x)).</summary>
public sealed class SwiGluExpert : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = TensorNames.GateProj)] private readonly Linear _gate;
    [ComponentName(Name = TensorNames.UpProj)] private readonly Linear _up;
    [ComponentName(Name = TensorNames.DownProj)] private readonly Linear _down;

    public SwiGluExpert(int hiddenSize, int innerSize) : base(nameof(SwiGluExpert))
    {
        HiddenSize = hiddenSize;
        InnerSize = innerSize;
        _gate = nn.Linear(hiddenSize, innerSize, hasBias: false);
        _up = nn.Linear(hiddenSize, innerSize, hasBias: false);
        _down = nn.Linear(innerSize, hiddenSize, hasBias: false);
        RegisterComponents();
    }

    public int HiddenSize { get; }

    public int InnerSize { get; }

    /// <summary>Makes this expert an exact copy of <paramref name="source"/>: its weights, dtype and device.</summary>
    public void CopyWeightsFrom(SwiGluExpert source)
    {
        using var noGrad = no_grad();
        this.to(source._gate.weight!.device, source._gate.weight!.dtype);
        _gate.weight!.copy_(source._gate.weight!);
        _up.weight!.copy_(source._up.weight!);
        _down.weight!.copy_(source._down.weight!);
    }

    public override Tensor forward(Tensor x) =>
        _down.forward(nn.functional.silu(_gate.forward(x)) * _up.forward(x));

    /// <summary>
    /// The same output with the weights taken as constants: the gradient reaches <paramref name="x"/> but not the
    /// expert's parameters (DES-MoE's mask for a token of a domain that does not own the expert).
    /// </summary>
    public Tensor ForwardWithFrozenWeights(Tensor x)
    {
        using var gate = _gate.weight!.detach();
        using var up = _up.weight!.detach();
        using var down = _down.weight!.detach();
        return nn.functional.linear(nn.functional.silu(nn.functional.linear(x, gate)) * nn.functional.linear(x, up), down);
    }
}
