using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Mixtral;

public sealed class MixtralArchitecture : HubArchitecture<MixtralConfig>
{
    public override string ModelType => MixtralConfig.Type;

    public override MixtralConfig Read(ConfigJson config) => MixtralConfig.Read(config);

    public override DesMoeForm ToDesMoe(MixtralConfig config) => new(
        DesMoeForm.Standard(config, config.NumExperts, config.TopK, config.ExpertIntermediateSize, normalizeTopK: true, _ => true) with
        {
            ExplicitHeadDim = config.HeadDim == config.HiddenSize / config.NumHeads ? 0 : config.HeadDim,
        },
        new HubParameterNames(MixtralConfig.FeedForwardName, MlpNames.Mixtral));
}
