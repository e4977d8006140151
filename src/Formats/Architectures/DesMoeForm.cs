using DesMoe.Formats.Hub;
using DesMoe.Formats.Config;

namespace DesMoe.Formats.Architectures;

/// <summary>
/// A hub architecture expressed as the model the trainer, exporter and server run (<see cref="Model.MoeTransformer"/>):
/// its config, and where each of its parameters lives in the checkpoint. The forward pass is the same function, so
/// the fixture logits hold for both (the parity tests check it).
/// </summary>
public sealed record DesMoeForm(MoeConfig Config, HubParameterNames Names)
{
    /// <summary>The checkpoint names, their dense layers always the config's: the two can never disagree about which layers are dense.</summary>
    public HubParameterNames Names { get; init; } = Names with { DenseLayers = Config.DenseLayerIndices };

    /// <summary>
    /// The config fields every standard-attention architecture shares, dense layers wherever <paramref name="sparse"/>
    /// puts them, YaRN and linear rope scaling, tied embeddings; refuses, in one line each, what the trainable model
    /// does not express (yet): other rope scaling.
    /// </summary>
    /// <param name="sparse">whether each layer is a MoE layer</param>
    /// <param name="denseWidth">the dense layers' SwiGLU width (<c>intermediate_size</c>)</param>
    public static MoeConfig Standard(HubModelConfig hub, int experts, int topK, int expertWidth, bool normalizeTopK, Func<int, bool> sparse, int denseWidth = 0)
    {
        var dense = DenseLayers(hub.NumLayers, sparse);
        if (dense.Length == hub.NumLayers)
            throw new HubModelException($"{hub.ModelType}: every layer is dense (check mlp_only_layers / decoder_sparse_step / num_experts): there is no MoE layer to adapt");
        if (dense.Length > 0 && denseWidth <= 0)
            throw new HubModelException($"{hub.ModelType}: dense layers [{string.Join(", ", dense)}] need intermediate_size");
        if (hub.Rope.Type is not (RopeSettings.DefaultType or RopeSettings.YarnType or RopeSettings.LinearType))
            throw new HubModelException($"{hub.ModelType}: rope type '{hub.Rope.Type}' is not supported for adaptation and export yet (supported: {RopeSettings.DefaultType}, {RopeSettings.YarnType}, {RopeSettings.LinearType})");
        return new MoeConfig
        {
            SourceModelType = hub.ModelType,
            VocabSize = hub.VocabSize,
            HiddenSize = hub.HiddenSize,
            NumLayers = hub.NumLayers,
            NumHeads = hub.NumHeads,
            NumKvHeads = hub.NumKvHeads,
            NumRoutedExperts = experts,
            TopK = topK,
            ExpertHiddenSize = expertWidth,
            NormalizeTopKProbabilities = normalizeTopK,
            RopeTheta = hub.Rope.Theta,
            RopeScaling = hub.Rope.Type == RopeSettings.DefaultType ? null : RopeScaling.FromHub(hub.Rope),
            MaxPositions = hub.Common.MaxPositions,
            RmsNormEpsilon = hub.RmsNormEps,
            TieWordEmbeddings = hub.TieWordEmbeddings,
            MlpOnlyLayers = dense.Length > 0 ? dense : null,
            DenseHiddenSize = dense.Length > 0 ? denseWidth : 0,
        };
    }

    /// <summary>The layers <paramref name="sparse"/> does not make MoE layers, in order.</summary>
    public static int[] DenseLayers(int layers, Func<int, bool> sparse) => Enumerable.Range(0, layers).Where(layer => !sparse(layer)).ToArray();
}
