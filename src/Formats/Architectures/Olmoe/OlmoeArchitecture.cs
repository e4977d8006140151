using DesMoe.Formats.Config;
using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Olmoe;

public sealed class OlmoeArchitecture : HubArchitecture<OlmoeConfig>
{
    public override string ModelType => OlmoeConfig.Type;

    public override OlmoeConfig Read(ConfigJson config) => OlmoeConfig.Read(config);

    public override DesMoeForm ToDesMoe(OlmoeConfig config)
    {
        return new(
            DesMoeForm.Standard(config, config.NumExperts, config.TopK, config.ExpertIntermediateSize, config.NormTopKProb, _ => true) with
            {
                QkNorm = QkNormalization.WholeProjection,
                AttentionBias = config.AttentionBias,
                AttentionOutputBias = config.AttentionBias,
                ClipQkv = config.ClipQkv,
            },
            new HubParameterNames("mlp", MlpNames.Projections));
    }
}
