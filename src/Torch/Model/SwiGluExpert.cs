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

    /// <param name="weights">the dtype the weights are held in (<see cref="StoredWeights"/>)</param>
    public SwiGluExpert(int hiddenSize, int innerSize, ScalarType weights = ScalarType.Float32) : base(nameof(SwiGluExpert))
    {
        HiddenSize = hiddenSize;
        InnerSize = innerSize;
        _gate = nn.Linear(hiddenSize, innerSize, hasBias: false, dtype: weights);
        _up = nn.Linear(hiddenSize, innerSize, hasBias: false, dtype: weights);
        _down = nn.Linear(innerSize, hiddenSize, hasBias: false, dtype: weights);
        RegisterComponents();
    }

    public int HiddenSize { get; }

    public int InnerSize { get; }

    /// <summary>
    /// Makes this expert a copy of <paramref name="source"/>'s weights on its device, in this expert's own dtype: a
    /// domain's copy trains, so it stays float32 when the source is held in bf16 (widening is exact).
    /// </summary>
    public void CopyWeightsFrom(SwiGluExpert source)
    {
        using var noGrad = no_grad();
        this.to(source._gate.weight!.device);
        _gate.weight!.copy_(source._gate.weight!);
        _up.weight!.copy_(source._up.weight!);
        _down.weight!.copy_(source._down.weight!);
    }

    public override Tensor forward(Tensor x) =>
        _down.Apply(nn.functional.silu(_gate.Apply(x)) * _up.Apply(x));

    /// <summary>
    /// The same output with the weights taken as constants: the gradient reaches <paramref name="x"/> but not the
    /// expert's parameters (DES-MoE's mask for a token of a domain that does not own the expert).
    /// </summary>
    public Tensor ForwardWithFrozenWeights(Tensor x)
    {
        using var gate = _gate.weight!.detach().to(x.dtype);
        using var up = _up.weight!.detach().to(x.dtype);
        using var down = _down.weight!.detach().to(x.dtype);
        return nn.functional.linear(nn.functional.silu(nn.functional.linear(x, gate)) * nn.functional.linear(x, up), down);
    }
}
