namespace DesMoe.Formats.Architectures.Common;

/// <summary>The checkpoint names of a SwiGLU block's three projections.</summary>
/// <param name="Gate">goes through SiLU</param>
/// <param name="Up">multiplies the gate's activation</param>
/// <param name="Down">projects back to the hidden size</param>
public sealed record MlpNames(string Gate, string Up, string Down)
{
    /// <summary>Llama-style names used by DeepSeek, Qwen and OLMoE.</summary>
    public static MlpNames Projections { get; } = new("gate_proj", "up_proj", "down_proj");

    /// <summary>Mixtral's expert names: w1 is the gate, w3 the up and w2 the down projection.</summary>
    public static MlpNames Mixtral { get; } = new("w1", "w3", "w2");
}
