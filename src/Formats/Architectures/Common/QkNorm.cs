namespace DesMoe.Formats.Architectures.Common;

/// <summary>Whether and how q and k are RMS-normalised before rope.</summary>
public enum QkNorm
{
    None,

    /// <summary>Over each head's <c>head_dim</c> (Qwen3-MoE): <c>q_norm.weight</c> is [head_dim].</summary>
    PerHead,

    /// <summary>Over the whole projection before the head split (OLMoE): <c>q_norm.weight</c> is [heads * head_dim], <c>k_norm.weight</c> [kv_heads * head_dim].</summary>
    WholeProjection,
}
