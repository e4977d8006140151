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
