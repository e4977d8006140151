using DesMoe.Core.Architectures.Common;
using DesMoe.Core.Architectures.Hub;

namespace DesMoe.Core.Architectures.Olmoe;

public sealed class OlmoeArchitecture : HubArchitecture<OlmoeConfig>
{
    public override string ModelType => OlmoeConfig.Type;

    public override OlmoeConfig Read(ConfigJson config) => OlmoeConfig.Read(config);

    public override CausalLanguageModel Build(OlmoeConfig config)
    {
        var attention = new AttentionShape(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim,
            QkvBias: config.AttentionBias, OutputBias: config.AttentionBias, Norm: QkNorm.WholeProjection, NormEpsilon: config.RmsNormEps,
            ClipQkv: config.ClipQkv);
        var rule = new RoutingRule(config.TopK, Renormalize: config.NormTopKProb);
        return StandardLayers.Build(config, attention, "mlp",
            _ => new SparseMoeBlock(config.HiddenSize, config.NumExperts, config.ExpertIntermediateSize, rule, MlpNames.Projections));
    }
}
