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
}
