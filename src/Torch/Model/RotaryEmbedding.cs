using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Torch.Model;

/// <summary>
/// Rotary position embedding (rotate-half convention, as in LLaMA/DeepSeek). The angles are computed from the
/// position ids on each call: cheap at these sizes, device-agnostic, and nothing extra lands in the checkpoint.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>
    /// cos and sin for <paramref name="positionIds"/> [batch, seq], shaped [batch, 1, seq, rotary_dim] to broadcast
    /// over heads, scaled by YaRN's attention factor when the config extends the context.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) ForPositions(Tensor positionIds, MoeConfig config)
    {
        var (frequencies, attentionFactor) = Frequencies(config);
        var inverseFrequency = tensor(frequencies, device: positionIds.device);
        var angles = positionIds.to(float32).unsqueeze(-1) * inverseFrequency;
        var table = cat([angles, angles], dim: -1).unsqueeze(1);
        if (attentionFactor == 1f) return (table.cos(), table.sin());
        using var factor = attentionFactor.ToScalar();
        return (table.cos().mul_(factor), table.sin().mul_(factor));
    }

    /// <summary>
    /// [rotary_dim / 2] inverse frequencies and the cos/sin magnitude. Plain rope: 1 / theta^(2i/d), computed in
    /// float64 as torch does; YaRN and linear scaling: <see cref="RotaryFrequencies.For"/>. The exporter's tables use the same values.
    /// </summary>
    public static (float[] InverseFrequency, float AttentionFactor) Frequencies(MoeConfig config)
    {
        if (config.RopeScaling is { } scaling)
        {
            var (scaled, factor) = RotaryFrequencies.For(scaling.ToHub(config.RopeTheta), config.RotaryDim);
            return (scaled.Select(f => (float)f).ToArray(), (float)factor);
        }
        using var scope = NewDisposeScope();
        return (InverseFrequency(config.RotaryDim, config.RopeTheta, CPU).data<float>().ToArray(), 1f);
    }

    /// <summary>[headDim / 2] float32: 1 / theta^(2i/d) for i = 0 .. d/2-1, computed in float64.</summary>
    public static Tensor InverseFrequency(int headDim, double theta, Device device)
    {
        using var dimension = ((double)headDim).ToScalar();
        var exponents = Ranges.Of(0, headDim, 2, float64, device) / dimension;
        return pow(tensor(theta, float64, device), exponents).reciprocal().to(float32);
    }

    /// <summary>
    /// Indices that put the pairwise-rotated dimensions (2i, 2i + 1) at (i, i + d/2), where <see cref="Apply"/>
    /// rotates them. Queries and keys are permuted alike, so their dot products, and the model, are unchanged
    /// (DeepSeek's own code does the same).
    /// </summary>
    public static long[] Deinterleave(int dim) =>
        Enumerable.Range(0, dim / 2).Select(i => 2L * i).Concat(Enumerable.Range(0, dim / 2).Select(i => 2L * i + 1)).ToArray();

    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], dim: -1);
        return (x * cos).add(rotated * sin, Scalars.One);
    }
}
