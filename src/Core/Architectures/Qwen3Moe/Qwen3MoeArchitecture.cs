using DesMoe.Core.Architectures.Trainable;
using DesMoe.Core.Config;
using DesMoe.Core.Architectures.Common;
using DesMoe.Core.Architectures.Hub;

namespace DesMoe.Core.Architectures.Qwen3Moe;

public sealed class Qwen3MoeArchitecture : HubArchitecture<Qwen3MoeConfig>
{
    public override string ModelType => Qwen3MoeConfig.Type;

    public override Qwen3MoeConfig Read(ConfigJson config) => Qwen3MoeConfig.Read(config);

    public override CausalLanguageModel Build(Qwen3MoeConfig config)
    {
        var attention = new AttentionShape(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim,
            QkvBias: config.AttentionBias, OutputBias: config.AttentionBias, Norm: QkNorm.PerHead, NormEpsilon: config.RmsNormEps);
        var rule = new RoutingRule(config.TopK, Renormalize: config.NormTopKProb);
        return StandardLayers.Build(config, attention, "mlp", layer => config.IsSparse(layer)
            ? new SparseMoeBlock(config.HiddenSize, config.NumExperts, config.MoeIntermediateSize, rule, MlpNames.Projections)
            : new SwiGluMlp(config.HiddenSize, config.IntermediateSize, MlpNames.Projections));
    }

    public override DesMoeForm ToDesMoe(Qwen3MoeConfig config)
    {
        if (config.AttentionBias) throw new HubModelException($"{config.ModelType}: attention_bias true is not supported for adaptation and export yet");
        return new(
            DesMoeForm.Standard(config, config.NumExperts, config.TopK, config.MoeIntermediateSize, config.NormTopKProb, config.IsSparse) with
            {
                ExplicitHeadDim = config.HeadDim,
                QkNorm = QkNormalization.PerHead,
            },
            new HubParameterNames("mlp", MlpNames.Projections));
    }
}
