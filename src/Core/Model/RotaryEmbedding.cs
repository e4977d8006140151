using static TorchSharp.torch;

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
        var inverseFrequency = (1.0 / pow(theta, arange(0, headDim, 2, dtype: float64, device: positionIds.device) / headDim)).to(float32);
        var angles = positionIds.to(float32).unsqueeze(-1) * inverseFrequency;
        var table = cat([angles, angles], dim: -1).unsqueeze(1);
        return (table.cos(), table.sin());
    }

    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], dim: -1);
        return x * cos + rotated * sin;
    }
}
