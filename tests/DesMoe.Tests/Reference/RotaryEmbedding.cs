using TorchSharp;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Architectures.Common;

namespace DesMoe.Tests.Reference;

/// <summary>cos/sin tables for given positions, shaped to broadcast over heads.</summary>
/// <param name="Cos">[batch, 1, seq, d] for <see cref="RotaryLayout.RotateHalf"/>, [batch, 1, seq, d/2] for <see cref="RotaryLayout.Interleaved"/></param>
/// <param name="Sin">same shape as <paramref name="Cos"/></param>
public sealed record RotaryTables(Tensor Cos, Tensor Sin);

/// <summary>
/// Rotary position embedding over the last dimension of q/k. The tables come from the position ids on each call
/// (cheap, device-agnostic, nothing in the checkpoint); the inverse frequencies are a plain field, not a buffer, so
/// they never appear among the module's state-dict keys.
/// </summary>
public sealed class RotaryEmbedding
{
    private readonly Tensor _inverseFrequencies; // [d/2] float32, CPU
    private readonly Scalar _attentionFactor;
    private readonly bool _scaled;

    public RotaryEmbedding(int rotaryDim, double[] inverseFrequencies, double attentionFactor, RotaryLayout layout)
    {
        if (inverseFrequencies.Length * 2 != rotaryDim)
            throw new ArgumentException($"{inverseFrequencies.Length} frequencies for a rotary dim of {rotaryDim}", nameof(inverseFrequencies));
        RotaryDim = rotaryDim;
        Layout = layout;
        _inverseFrequencies = tensor(inverseFrequencies.Select(f => (float)f).ToArray()).DetachFromDisposeScope();
        _attentionFactor = attentionFactor;
        _scaled = attentionFactor != 1.0;
    }

    public int RotaryDim { get; }

    public RotaryLayout Layout { get; }

    /// <param name="positionIds">[batch, seq] int64</param>
    public RotaryTables Tables(Tensor positionIds)
    {
        var angles = positionIds.to(float32).unsqueeze(-1) * _inverseFrequencies.to(positionIds.device); // [b, s, d/2]
        if (Layout == RotaryLayout.RotateHalf) angles = cat([angles, angles], dim: -1);
        angles = angles.unsqueeze(1);
        Tensor cos = angles.cos(), sin = angles.sin();
        if (_scaled)
        {
            cos = cos.mul(_attentionFactor);
            sin = sin.mul(_attentionFactor);
        }
        return new RotaryTables(cos, sin);
    }

    /// <param name="x">[batch, heads, seq, d]</param>
    public Tensor Apply(Tensor x, RotaryTables tables)
    {
        if (Layout == RotaryLayout.RotateHalf)
        {
            long half = x.shape[^1] / 2;
            var rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], dim: -1);
            return (x * tables.Cos).add(rotated * tables.Sin, Scalars.One);
        }
        // (x0 + i x1) * (cos + i sin) for each adjacent pair.
        var pairs = x.reshape([.. x.shape[..^1], x.shape[^1] / 2, 2]);
        Tensor real = pairs.select(-1, 0), imaginary = pairs.select(-1, 1);
        var outReal = real * tables.Cos - imaginary * tables.Sin;
        var outImaginary = (real * tables.Sin).add(imaginary * tables.Cos, Scalars.One);
        return stack([outReal, outImaginary], dim: -1).reshape(x.shape);
    }
}
