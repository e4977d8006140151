using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Qwen3Moe;

/// <summary>
/// Qwen3-MoE (Qwen3-30B-A3B, 235B-A22B): explicit <c>head_dim</c>, RMSNorm of each q/k head before rope, routed
/// experts only (no shared expert), top-k weights renormalised when <c>norm_topk_prob</c>.
/// </summary>
public sealed record Qwen3MoeConfig(CommonFields Common, int HeadDim, bool AttentionBias, int IntermediateSize, int MoeIntermediateSize,
    int NumExperts, int TopK, bool NormTopKProb, int DecoderSparseStep, IReadOnlyList<int> MlpOnlyLayers) : HubModelConfig(Common)
{
    public const string Type = "qwen3_moe";

    public bool IsSparse(int layer) =>
        !MlpOnlyLayers.Contains(layer) && NumExperts > 0 && (layer + 1) % DecoderSparseStep == 0;

    public override IReadOnlyList<FeedForwardPlan> Layers => Enumerable.Range(0, NumLayers)
        .Select(i => IsSparse(i)
            ? new FeedForwardPlan($"model.layers.{i}.mlp", NumExperts, 0, TopK)
            : FeedForwardPlan.Dense($"model.layers.{i}.mlp"))
        .ToList();

    public static Qwen3MoeConfig Read(ConfigJson config)
    {
        var common = CommonFields.Read(config);
        if (config.Bool("use_sliding_window", false)) throw config.Unsupported("use_sliding_window", true, "false");
        int step = config.Int("decoder_sparse_step", 1);
        if (step < 1) throw config.Inconsistent($"decoder_sparse_step is {step}, expected at least 1");
        // Hub configs say num_experts; transformers 5 writes num_local_experts.
        int experts = config.OptionalInt("num_experts") ?? config.RequiredInt("num_local_experts");
        return new Qwen3MoeConfig(common, config.OptionalInt("head_dim") ?? common.HiddenSize / common.NumHeads, config.Bool("attention_bias", false),
            config.RequiredInt("intermediate_size"), config.RequiredInt("moe_intermediate_size"), experts, config.RequiredInt("num_experts_per_tok"),
            config.Bool("norm_topk_prob", false), step, common.LayerIndices(config, "mlp_only_layers"));
    }
}
