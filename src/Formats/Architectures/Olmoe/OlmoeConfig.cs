using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Olmoe;

/// <summary>
/// OLMoE (OLMoE-1B-7B): every layer sparse, q and k RMS-normalised over the whole projection before the head
/// split, optional <c>clip_qkv</c> clamp, top-k weights renormalised only when <c>norm_topk_prob</c>.
/// <c>intermediate_size</c> is each expert's width.
/// </summary>
public sealed record OlmoeConfig(CommonFields Common, bool AttentionBias, double? ClipQkv, int ExpertIntermediateSize, int NumExperts,
    int TopK, bool NormTopKProb) : HubModelConfig(Common)
{
    public const string Type = "olmoe";

    public int HeadDim => HiddenSize / NumHeads;

    public override IReadOnlyList<FeedForwardPlan> Layers => Enumerable.Range(0, NumLayers)
        .Select(i => new FeedForwardPlan($"model.layers.{i}.mlp", NumExperts, 0, TopK))
        .ToList();

    public static OlmoeConfig Read(ConfigJson config)
    {
        var common = CommonFields.Read(config);
        var clip = config.OptionalDouble("clip_qkv");
        if (clip is <= 0) throw config.Unsupported("clip_qkv", clip, "null", "a positive bound");
        return new OlmoeConfig(common, config.Bool("attention_bias", false), clip, config.RequiredInt("intermediate_size"),
            config.RequiredInt("num_experts"), config.RequiredInt("num_experts_per_tok"), config.Bool("norm_topk_prob", false));
    }
}
