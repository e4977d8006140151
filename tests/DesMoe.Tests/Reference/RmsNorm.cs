using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Tests.Reference;

/// <summary>Root-mean-square normalisation over the last dimension, <c>weight * x / sqrt(mean(x^2) + eps)</c>; parameter <c>weight</c> [size].</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly Scalar _epsilon;

    public RmsNorm(long size, double epsilon) : base(nameof(RmsNorm))
    {
        _weight = new Parameter(ones(size));
        register_parameter("weight", _weight);
        _epsilon = epsilon;
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = x.square().mean([-1L], keepdim: true);
        return (x * variance.add(_epsilon, Scalars.One).rsqrt() * _weight).MoveToOuterDisposeScope();
    }
}
