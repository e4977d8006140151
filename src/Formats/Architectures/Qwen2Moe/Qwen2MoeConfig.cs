using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Qwen2Moe;

/// <summary>
/// Qwen2-MoE (Qwen1.5-MoE, Qwen2-57B-A14B): q/k/v biases, GQA, routed experts plus one shared expert scaled by
/// sigmoid(<c>shared_expert_gate</c>); a layer is sparse unless listed in <c>mlp_only_layers</c> or off the
/// <c>decoder_sparse_step</c> grid.
/// </summary>
public sealed record Qwen2MoeConfig(CommonFields Common, int IntermediateSize, int MoeIntermediateSize, int SharedExpertIntermediateSize,
    int NumExperts, int TopK, bool NormTopKProb, int DecoderSparseStep, IReadOnlyList<int> MlpOnlyLayers, bool QkvBias) : HubModelConfig(Common)
{
    public const string Type = "qwen2_moe";

    public int HeadDim => HiddenSize / NumHeads;

    public bool IsSparse(int layer) =>
        !MlpOnlyLayers.Contains(layer) && NumExperts > 0 && (layer + 1) % DecoderSparseStep == 0;

    public override IReadOnlyList<FeedForwardPlan> Layers => Enumerable.Range(0, NumLayers)
        .Select(i => IsSparse(i)
            ? new FeedForwardPlan($"model.layers.{i}.mlp", NumExperts, 1, TopK)
            : FeedForwardPlan.Dense($"model.layers.{i}.mlp"))
        .ToList();

    public static Qwen2MoeConfig Read(ConfigJson config)
    {
        var common = CommonFields.Read(config);
        if (config.Bool("use_sliding_window", false)) throw config.Unsupported("use_sliding_window", true, "false");
        var layerTypes = config.StringList("layer_types");
        var other = layerTypes.FirstOrDefault(t => t != "full_attention");
        if (other is not null) throw config.Unsupported("layer_types entry", other, "full_attention");
        int step = config.Int("decoder_sparse_step", 1);
        if (step < 1) throw config.Inconsistent($"decoder_sparse_step is {step}, expected at least 1");
        int experts = config.OptionalInt("num_experts") ?? config.RequiredInt("num_local_experts");
        int shared = config.RequiredInt("shared_expert_intermediate_size");
        if (shared <= 0) throw config.Unsupported("shared_expert_intermediate_size", shared, "a positive size");
        return new Qwen2MoeConfig(common, config.RequiredInt("intermediate_size"), config.RequiredInt("moe_intermediate_size"), shared,
            experts, config.RequiredInt("num_experts_per_tok"), config.Bool("norm_topk_prob", false), step,
            common.LayerIndices(config, "mlp_only_layers"), config.Bool("qkv_bias", true));
    }
}
