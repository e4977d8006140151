using DesMoe.Core.Architectures.Trainable;
using DesMoe.Core.Config;
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

    public override DesMoeForm ToDesMoe(OlmoeConfig config)
    {
        if (config.AttentionBias) throw new HubModelException($"{config.ModelType}: attention_bias true is not supported for adaptation and export yet");
        if (config.ClipQkv is not null) throw new HubModelException($"{config.ModelType}: clip_qkv {config.ClipQkv} is not supported for adaptation and export yet (supported: null)");
        return new(
            DesMoeForm.Standard(config, config.NumExperts, config.TopK, config.ExpertIntermediateSize, config.NormTopKProb, _ => true) with
            {
                QkNorm = QkNormalization.WholeProjection,
            },
            new HubParameterNames("mlp", MlpNames.Projections));
    }
}
