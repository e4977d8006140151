namespace DesMoe.Formats.Architectures.Common;

/// <summary>Which dimensions of a head are rotated together.</summary>
public enum RotaryLayout
{
    /// <summary>Dimension i pairs with i + d/2 (Llama's <c>rotate_half</c>): Qwen, OLMoE, Mixtral.</summary>
    RotateHalf,

    /// <summary>
    /// Dimension 2i pairs with 2i + 1 (complex multiplication, transformers 5's DeepSeek-V2). DeepSeek's own code
    /// de-interleaves and then rotates halves; q and k are permuted alike, so q·k — and the model — are the same.
    /// </summary>
    Interleaved,
}
