using TorchSharp.Modules;
using static TorchSharp.torch;
using DesMoe.Formats.Architectures.Common;

namespace DesMoe.Tests.Reference;

/// <summary><c>down(silu(gate(x)) * up(x))</c>: the dense MLP, every routed expert and the shared experts of all five architectures.</summary>
public sealed class SwiGluMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear _gate, _up, _down;

    public SwiGluMlp(long hidden, long intermediate, MlpNames names, bool bias = false) : base(nameof(SwiGluMlp))
    {
        _gate = nn.Linear(hidden, intermediate, hasBias: bias);
        _up = nn.Linear(hidden, intermediate, hasBias: bias);
        _down = nn.Linear(intermediate, hidden, hasBias: bias);
        register_module(names.Gate, _gate);
        register_module(names.Up, _up);
        register_module(names.Down, _down);
        Intermediate = intermediate;
    }

    public long Intermediate { get; }

    /// <param name="x">[..., hidden]</param>
    /// <returns>[..., hidden]</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var activated = nn.functional.silu(_gate.forward(x)) * _up.forward(x);
        return _down.forward(activated).MoveToOuterDisposeScope();
    }
}
