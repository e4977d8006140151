using TorchSharp;
using static TorchSharp.torch;
using DesMoe.Core.Tensors;

namespace DesMoe.Core.Model;

/// <summary>
/// Rotary position embedding (rotate-half convention, as in LLaMA/DeepSeek). The angles are computed from the
/// position ids on each call: cheap at these sizes, device-agnostic, and nothing extra lands in the checkpoint.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>cos and sin for <paramref name="positionIds"/> [batch, seq], shaped [batch, 1, seq, headDim] to broadcast over heads.</summary>
    public static (Tensor Cos, Tensor Sin) ForPositions(Tensor positionIds, int headDim, double theta)
    {
        var inverseFrequency = InverseFrequency(headDim, theta, positionIds.device);
        var angles = positionIds.to(float32).unsqueeze(-1) * inverseFrequency;
        var table = cat([angles, angles], dim: -1).unsqueeze(1);
        return (table.cos(), table.sin());
    }

    /// <summary>[headDim / 2] float32: 1 / theta^(2i/d) for i = 0 .. d/2-1, computed in float64 (the exporter's tables use it too).</summary>
    public static Tensor InverseFrequency(int headDim, double theta, Device device)
    {
        using var dimension = ((double)headDim).ToScalar();
        var exponents = Ranges.Of(0, headDim, 2, float64, device) / dimension;
        return pow(tensor(theta, float64, device), exponents).reciprocal().to(float32);
    }

    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], dim: -1);
        return (x * cos).add(rotated * sin, Scalars.One);
    }
}
