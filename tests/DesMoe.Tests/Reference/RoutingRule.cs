namespace DesMoe.Tests.Reference;

/// <summary>
/// How router logits become per-token expert choices and weights. Scores are always softmax(logits) in float32;
/// the five architectures differ only in these knobs.
/// </summary>
/// <param name="TopK">experts chosen per token</param>
/// <param name="Renormalize">divide the chosen scores by their sum (Qwen3-MoE, Mixtral; Qwen2-MoE/OLMoE when norm_topk_prob)</param>
/// <param name="Scale">multiplies the final weights (DeepSeek's routed_scaling_factor; 1 elsewhere)</param>
/// <param name="Groups">DeepSeek's group-limited greedy: experts split into this many equal groups (1 = plain top-k)</param>
/// <param name="GroupsKept">groups whose best expert score ranks in the top this-many stay eligible</param>
public sealed record RoutingRule(int TopK, bool Renormalize, double Scale = 1.0, int Groups = 1, int GroupsKept = 1);
