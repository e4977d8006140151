using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Common;

/// <summary>
/// Inverse frequencies (one per pair of rotated dimensions) and the cos/sin magnitude ("attention factor") for the
/// rope types the loader supports. Computed in double; transformers computes them in float32, which differs by a
/// few ulps of float32 and is far inside the 1e-4 logit tolerance.
/// </summary>
public static class RotaryFrequencies
{
    public static (double[] InverseFrequencies, double AttentionFactor) For(RopeSettings rope, int rotaryDim) => rope.Type switch
    {
        RopeSettings.DefaultType => (Default(rotaryDim, rope.Theta), 1.0),
        RopeSettings.YarnType => Yarn(rotaryDim, rope),
        // transformers' linear scaling (position interpolation): every frequency divided by the factor.
        RopeSettings.LinearType => (Default(rotaryDim, rope.Theta).Select(f => f / rope.Factor).ToArray(), 1.0),
        _ => throw new ArgumentException($"rope type '{rope.Type}' has no frequency rule", nameof(rope)),
    };

    /// <summary><c>theta^(-2i/dim)</c> for i in [0, dim/2).</summary>
    public static double[] Default(int dim, double theta) =>
        Enumerable.Range(0, dim / 2).Select(i => 1.0 / Math.Pow(theta, 2.0 * i / dim)).ToArray();

    /// <summary>
    /// YaRN (arXiv 2309.00071): high-frequency dimensions keep their frequency (extrapolate), low-frequency ones are
    /// divided by <c>factor</c> (interpolate), with a linear ramp between the dimensions that make beta_fast and
    /// beta_slow rotations over the original context. The attention factor scales cos and sin: explicit if given,
    /// else mscale(factor, mscale) / mscale(factor, mscale_all_dim) when both are set (1.0 for DeepSeek-V2-Lite),
    /// else mscale(factor, 1).
    /// </summary>
    public static (double[] InverseFrequencies, double AttentionFactor) Yarn(int dim, RopeSettings rope)
    {
        double factor = rope.Factor;
        double attentionFactor = rope.AttentionFactor
            ?? (rope.Mscale is { } m && m != 0 && rope.MscaleAllDim is { } all && all != 0
                ? RopeSettings.YarnMscale(factor, m) / RopeSettings.YarnMscale(factor, all)
                : RopeSettings.YarnMscale(factor, 1.0));

        double CorrectionDim(double rotations) =>
            dim * Math.Log(rope.OriginalMaxPositions / (rotations * 2 * Math.PI)) / (2 * Math.Log(rope.Theta));
        double low = CorrectionDim(rope.BetaFast), high = CorrectionDim(rope.BetaSlow);
        if (rope.Truncate)
        {
            low = Math.Floor(low);
            high = Math.Ceiling(high);
        }
        low = Math.Max(low, 0);
        high = Math.Min(high, dim - 1);
        if (low == high) high += 0.001; // the reference's guard against a zero-width ramp

        var extrapolated = Default(dim, rope.Theta);
        var result = new double[dim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double ramp = Math.Clamp((i - low) / (high - low), 0.0, 1.0);
            double keep = 1.0 - ramp; // weight of the unscaled (extrapolated) frequency
            result[i] = extrapolated[i] / factor * (1.0 - keep) + extrapolated[i] * keep;
        }
        return (result, attentionFactor);
    }
}
