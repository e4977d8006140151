using DesMoe.Formats.Architectures;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Torch.Model;

public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = TensorNames.Weight)]
    private readonly TorchSharp.Modules.Parameter _weight;
    /// <summary>A field, so the Scalar outlives the native calls it is passed to.</summary>
    private readonly Scalar _epsilon;

    public RmsNorm(int size, double epsilon) : base(nameof(RmsNorm))
    {
        _epsilon = epsilon.ToScalar();
        _weight = nn.Parameter(ones(size));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = x.pow(Scalars.Two).mean([-1L], keepdim: true);
        return (x * rsqrt(variance.add(_epsilon, Scalars.One)) * _weight).MoveToOuterDisposeScope();
    }
}
