using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Hub;
using DesMoe.Formats.Config;

namespace DesMoe.Formats.Architectures.DeepseekV2;

public sealed class DeepseekV2Architecture : HubArchitecture<DeepseekV2Config>
{
    public override string ModelType => DeepseekV2Config.Type;

    public override DeepseekV2Config Read(ConfigJson config) => DeepseekV2Config.Read(config);

    /// <summary>
    /// The trainable form: <see cref="Model.LatentAttention"/>, the dense layers (a first_k_dense_replace prefix, and
    /// any moe_layer_freq leaves) as <c>dense_layers</c>, YaRN, the routed scaling, group-limited routing. Refuses in
    /// one line what it does not express (see DeepseekV2Config.Read).
    /// </summary>
    public override DesMoeForm ToDesMoe(DeepseekV2Config config)
    {
        string type = config.ModelType;
        if (config.RoutedExperts == 0) throw new HubModelException($"{type}: n_routed_experts is not set, so the model has no MoE layer to adapt");
        var dense = DesMoeForm.DenseLayers(config.NumLayers, config.IsMoe);
        // A dense prefix keeps first_k_dense_replace (the bundled model's form); moe_layer_freq > 1 lists every dense layer.
        bool prefix = dense.SequenceEqual(Enumerable.Range(0, dense.Length));
        if (dense.Length == config.NumLayers) throw new HubModelException($"{type}: every layer is dense (first_k_dense_replace / moe_layer_freq): there is no MoE layer to adapt");
        bool groupLimited = config.TopKMethod == DeepseekV2Config.GroupLimitedGreedy && config.TopKGroup < config.NGroup;
        // As Build: renormalise when norm_topk_prob, else scale by routed_scaling_factor.
        double scale = config.NormTopKProb ? 1.0 : config.RoutedScalingFactor;
        var model = new MoeConfig
        {
            SourceModelType = type,
            VocabSize = config.VocabSize,
            HiddenSize = config.HiddenSize,
            NumLayers = config.NumLayers,
            NumHeads = config.NumHeads,
            NumKvHeads = config.NumHeads,
            ExplicitHeadDim = config.QkHeadDim,
            NumRoutedExperts = config.RoutedExperts,
            NumSharedExperts = config.SharedExperts,
            TopK = config.TopK,
            ExpertHiddenSize = config.MoeIntermediateSize,
            NormalizeTopKProbabilities = config.NormTopKProb,
            RoutedScalingFactor = scale == 1.0 ? null : scale,
            RouterGroupCount = groupLimited ? config.NGroup : null,
            RouterGroupsKeptCount = groupLimited ? config.TopKGroup : null,
            RopeTheta = config.Rope.Theta,
            RopeScaling = config.Rope.Type == RopeSettings.DefaultType ? null : RopeScaling.FromHub(config.Rope),
            RopeInterleaved = true,
            MaxPositions = config.Common.MaxPositions,
            RmsNormEpsilon = config.RmsNormEps,
            TieWordEmbeddings = config.TieWordEmbeddings,
            AttentionBias = config.AttentionBias,
            DenseLayers = prefix ? dense.Length : 0,
            MlpOnlyLayers = prefix ? null : dense,
            DenseHiddenSize = dense.Length > 0 ? config.IntermediateSize : 0,
            KvLoraRank = config.KvLoraRank,
            QLoraRank = config.QLoraRank ?? 0,
            QkNopeHeadDim = config.QkNopeHeadDim,
            QkRopeHeadDim = config.QkRopeHeadDim,
            VHeadDim = config.VHeadDim,
        };
        return new DesMoeForm(model, new HubParameterNames("mlp", MlpNames.Projections, SharedExpert: "shared_experts"));
    }
}
