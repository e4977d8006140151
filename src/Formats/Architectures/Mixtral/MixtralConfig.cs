using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Mixtral;

/// <summary>
/// Mixtral (8x7B, 8x22B): every layer a <c>block_sparse_moe</c> of w1/w2/w3 experts, top-k weights always
/// renormalised, no shared expert. <c>intermediate_size</c> is each expert's width. Sliding-window attention is
/// refused rather than approximated: the released Mixtral configs set <c>sliding_window</c> to null.
/// </summary>
public sealed record MixtralConfig(CommonFields Common, int HeadDim, int ExpertIntermediateSize, int NumExperts, int TopK) : HubModelConfig(Common)
{
    public const string Type = "mixtral";
    public const string FeedForwardName = "block_sparse_moe";

    public override IReadOnlyList<FeedForwardPlan> Layers => Enumerable.Range(0, NumLayers)
        .Select(i => new FeedForwardPlan($"model.layers.{i}.{FeedForwardName}", NumExperts, 0, TopK))
        .ToList();

    public static MixtralConfig Read(ConfigJson config)
    {
        var common = CommonFields.Read(config);
        var window = config.OptionalInt("sliding_window");
        if (window is not null) throw config.Unsupported("sliding_window", window, "null");
        return new MixtralConfig(common, config.OptionalInt("head_dim") ?? common.HiddenSize / common.NumHeads, config.RequiredInt("intermediate_size"),
            config.RequiredInt("num_local_experts"), config.RequiredInt("num_experts_per_tok"));
    }
}
