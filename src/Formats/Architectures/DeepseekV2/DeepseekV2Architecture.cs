using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Hub;
using DesMoe.Formats.Config;

namespace DesMoe.Formats.Architectures.DeepseekV2;

public sealed class DeepseekV2Architecture : HubArchitecture<DeepseekV2Config>
{
    public override string ModelType => DeepseekV2Config.Type;

    public override DeepseekV2Config Read(ConfigJson config) => DeepseekV2Config.Read(config);

    /// <summary>
    /// The trainable form: <see cref="Model.LatentAttention"/>, the dense prefix as <c>dense_layers</c>, YaRN, and the
    /// routed scaling, group-limited routing. Refuses in one line what it does not express: dense layers between MoE
    /// ones (moe_layer_freq), attention biases, tied embeddings.
    /// </summary>
    public override DesMoeForm ToDesMoe(DeepseekV2Config config)
    {
        string type = config.ModelType;
        if (config.RoutedExperts == 0) throw new HubModelException($"{type}: n_routed_experts is not set, so the model has no MoE layer to adapt");
        var misplaced = Enumerable.Range(0, config.NumLayers).Where(i => config.IsMoe(i) != (i >= config.FirstKDenseReplace)).ToList();
        if (misplaced.Count > 0)
            throw new HubModelException($"{type}: moe_layer_freq {config.MoeLayerFreq} makes layers [{string.Join(", ", misplaced)}] dense beyond the first_k_dense_replace ({config.FirstKDenseReplace}) prefix; only a dense prefix is supported for adaptation and export yet");
        if (config.AttentionBias) throw new HubModelException($"{type}: attention_bias true is not supported for adaptation and export yet");
        if (config.TieWordEmbeddings) throw new HubModelException($"{type}: tie_word_embeddings true is not supported for adaptation and export yet");
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
            RouterGroupCount = config.TopKMethod == DeepseekV2Config.GroupLimitedGreedy && config.TopKGroup < config.NGroup ? config.NGroup : null,
            RouterGroupsKeptCount = config.TopKMethod == DeepseekV2Config.GroupLimitedGreedy && config.TopKGroup < config.NGroup ? config.TopKGroup : null,
            RopeTheta = config.Rope.Theta,
            RopeScaling = config.Rope.Type == RopeSettings.YarnType ? RopeScaling.FromHub(config.Rope) : null,
            RopeInterleaved = true,
            MaxPositions = config.Common.MaxPositions,
            RmsNormEpsilon = config.RmsNormEps,
            DenseLayers = config.FirstKDenseReplace,
            DenseHiddenSize = config.FirstKDenseReplace > 0 ? config.IntermediateSize : 0,
            KvLoraRank = config.KvLoraRank,
            QLoraRank = config.QLoraRank ?? 0,
            QkNopeHeadDim = config.QkNopeHeadDim,
            QkRopeHeadDim = config.QkRopeHeadDim,
            VHeadDim = config.VHeadDim,
        };
        return new DesMoeForm(model, new HubParameterNames("mlp", MlpNames.Projections, SharedExpert: "shared_experts",
            DenseLayers: config.FirstKDenseReplace));
    }
}
