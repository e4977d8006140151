using DesMoe.Core.Architectures.Trainable;
using DesMoe.Core.Architectures.Common;
using DesMoe.Core.Architectures.Hub;

namespace DesMoe.Core.Architectures.Mixtral;

public sealed class MixtralArchitecture : HubArchitecture<MixtralConfig>
{
    public override string ModelType => MixtralConfig.Type;

    public override MixtralConfig Read(ConfigJson config) => MixtralConfig.Read(config);

    public override CausalLanguageModel Build(MixtralConfig config)
    {
        var attention = new AttentionShape(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim);
        var rule = new RoutingRule(config.TopK, Renormalize: true);
        return StandardLayers.Build(config, attention, MixtralConfig.FeedForwardName,
            _ => new SparseMoeBlock(config.HiddenSize, config.NumExperts, config.ExpertIntermediateSize, rule, MlpNames.Mixtral));
    }

    public override DesMoeForm ToDesMoe(MixtralConfig config) => new(
        DesMoeForm.Standard(config, config.NumExperts, config.TopK, config.ExpertIntermediateSize, normalizeTopK: true, _ => true) with
        {
            ExplicitHeadDim = config.HeadDim == config.HiddenSize / config.NumHeads ? 0 : config.HeadDim,
        },
        new HubParameterNames(MixtralConfig.FeedForwardName, MlpNames.Mixtral));
}
