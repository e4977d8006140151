using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.DeepseekV2;

/// <summary>
/// DeepSeek-V2 / V2-Lite / V2.5: multi-head latent attention, the first <c>first_k_dense_replace</c> layers dense,
/// then MoE every <c>moe_layer_freq</c> layers with <c>n_shared_experts</c> fused shared experts, softmax routing
/// by <c>topk_method</c> greedy or group_limited_greedy.
/// </summary>
public sealed record DeepseekV2Config(CommonFields Common) : HubModelConfig(Common)
{
    public const string Type = "deepseek_v2";
    public const string Greedy = "greedy";
    public const string GroupLimitedGreedy = "group_limited_greedy";

    public required int? QLoraRank { get; init; }
    public required int KvLoraRank { get; init; }
    public required int QkNopeHeadDim { get; init; }
    public required int QkRopeHeadDim { get; init; }
    public required int VHeadDim { get; init; }
    public required bool AttentionBias { get; init; }
    public required int IntermediateSize { get; init; }
    public required int MoeIntermediateSize { get; init; }
    public required int RoutedExperts { get; init; }
    public required int SharedExperts { get; init; }
    public required int TopK { get; init; }
    public required int FirstKDenseReplace { get; init; }
    public required int MoeLayerFreq { get; init; }
    public required string TopKMethod { get; init; }
    public required int NGroup { get; init; }
    public required int TopKGroup { get; init; }
    public required bool NormTopKProb { get; init; }
    public required double RoutedScalingFactor { get; init; }

    public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;

    /// <summary>
    /// Softmax scale of the attention logits: qk_head_dim^-0.5, times mscale^2 under YaRN with
    /// mscale = 0.1 * mscale_all_dim * ln(factor) + 1 (DeepSeek's own code and transformers 5.17 both apply it;
    /// about 1.59x for DeepSeek-V2-Lite). The cos/sin attention factor is the other, separate part of YaRN.
    /// </summary>
    public double SoftmaxScale
    {
        get
        {
            double scale = 1.0 / Math.Sqrt(QkHeadDim);
            if (Rope.Type == RopeSettings.YarnType && Rope.MscaleAllDim is { } all && all != 0)
            {
                double mscale = RopeSettings.YarnMscale(Rope.Factor, all);
                scale *= mscale * mscale;
            }
            return scale;
        }
    }

    /// <summary>As DeepSeek's reference code: MoE where n_routed_experts is set, past the dense prefix, on the moe_layer_freq grid.</summary>
    public bool IsMoe(int layer) => RoutedExperts > 0 && layer >= FirstKDenseReplace && layer % MoeLayerFreq == 0;

    public override IReadOnlyList<FeedForwardPlan> Layers => Enumerable.Range(0, NumLayers)
        .Select(i => IsMoe(i)
            ? new FeedForwardPlan($"model.layers.{i}.mlp", RoutedExperts, SharedExperts, TopK)
            : FeedForwardPlan.Dense($"model.layers.{i}.mlp"))
        .ToList();

    public static DeepseekV2Config Read(ConfigJson config)
    {
        var common = CommonFields.Read(config);
        var scoring = config.String("scoring_func", "softmax");
        if (scoring != "softmax") throw config.Unsupported("scoring_func", scoring, "softmax");
        var method = config.OneOf("topk_method", Greedy, Greedy, GroupLimitedGreedy);
        int routed = config.OptionalInt("n_routed_experts") ?? 0;
        int nGroup = config.Int("n_group", 1), topKGroup = config.Int("topk_group", 1);
        if (method == GroupLimitedGreedy && (nGroup < 1 || routed % nGroup != 0 || topKGroup < 1 || topKGroup > nGroup))
            throw config.Inconsistent($"group_limited_greedy needs n_routed_experts ({routed}) divisible by n_group ({nGroup}) and 1 <= topk_group ({topKGroup}) <= n_group");
        if (config.Bool("mlp_bias", false)) throw config.Unsupported("mlp_bias", true, "false");
        int freq = config.Int("moe_layer_freq", 1);
        if (freq < 1) throw config.Inconsistent($"moe_layer_freq is {freq}, expected at least 1");
        return new DeepseekV2Config(common)
        {
            QLoraRank = config.OptionalInt("q_lora_rank"),
            KvLoraRank = config.RequiredInt("kv_lora_rank"),
            QkNopeHeadDim = config.RequiredInt("qk_nope_head_dim"),
            QkRopeHeadDim = config.RequiredInt("qk_rope_head_dim"),
            VHeadDim = config.RequiredInt("v_head_dim"),
            AttentionBias = config.Bool("attention_bias", false),
            IntermediateSize = config.RequiredInt("intermediate_size"),
            MoeIntermediateSize = config.RequiredInt("moe_intermediate_size"),
            RoutedExperts = routed,
            SharedExperts = config.OptionalInt("n_shared_experts") ?? 0,
            TopK = config.RequiredInt("num_experts_per_tok"),
            FirstKDenseReplace = config.Int("first_k_dense_replace", 0),
            MoeLayerFreq = freq,
            TopKMethod = method,
            NGroup = method == GroupLimitedGreedy ? nGroup : 1,
            TopKGroup = method == GroupLimitedGreedy ? topKGroup : 1,
            NormTopKProb = config.Bool("norm_topk_prob", false),
            RoutedScalingFactor = config.Double("routed_scaling_factor", 1.0),
        };
    }
}
