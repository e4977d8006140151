using TorchSharp;

namespace DesMoe.Core.Architectures.Common;

/// <summary>
/// Scalars passed to native ops, created once and kept reachable for the life of the process. TorchSharp lets the GC
/// finalize a temporary <see cref="Scalar"/> (from an implicit int/double conversion) while native code may still
/// read its handle; modules therefore pass only scalars they hold in fields, and these shared constants.
/// </summary>
internal static class HeldScalars
{
    public static readonly Scalar One = 1;
    public static readonly Scalar Zero = 0;

    /// <summary>What masked attention logits are set to: softmax gives them weight 0, and a fully masked row stays finite (uniform).</summary>
    public static readonly Scalar MaskedLogit = float.MinValue;
}
