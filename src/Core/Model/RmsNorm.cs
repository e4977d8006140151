using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace DesMoe.Core.Model;

public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private readonly TorchSharp.Modules.Parameter _weight;
    private readonly double _epsilon;

    public RmsNorm(int size, double epsilon) : base(nameof(RmsNorm))
    {
        _epsilon = epsilon;
        _weight = nn.Parameter(ones(size));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = x.pow(2).mean([-1L], keepdim: true);
        return (x * rsqrt(variance + _epsilon) * _weight).MoveToOuterDisposeScope();
    }
}
