namespace DesMoe.Formats.Architectures.Common;

/// <summary>Experts every token goes through beside the routed ones.</summary>
/// <param name="Name">checkpoint name of the shared MLP (<c>shared_experts</c> in DeepSeek, <c>shared_expert</c> in Qwen2-MoE)</param>
/// <param name="Intermediate">its intermediate size (DeepSeek: n_shared_experts * moe_intermediate_size, fused into one MLP)</param>
/// <param name="GateName">when set, a [1, hidden] linear whose sigmoid scales the shared output per token (Qwen2-MoE's <c>shared_expert_gate</c>)</param>
public sealed record SharedExperts(string Name, long Intermediate, string? GateName = null);
