using DesMoe.Formats.Config;
using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Qwen3Moe;

public sealed class Qwen3MoeArchitecture : HubArchitecture<Qwen3MoeConfig>
{
    public override string ModelType => Qwen3MoeConfig.Type;

    public override Qwen3MoeConfig Read(ConfigJson config) => Qwen3MoeConfig.Read(config);

    public override DesMoeForm ToDesMoe(Qwen3MoeConfig config)
    {
        return new(
            DesMoeForm.Standard(config, config.NumExperts, config.TopK, config.MoeIntermediateSize, config.NormTopKProb, config.IsSparse, config.IntermediateSize) with
            {
                ExplicitHeadDim = config.HeadDim,
                QkNorm = QkNormalization.PerHead,
                AttentionBias = config.AttentionBias,
                AttentionOutputBias = config.AttentionBias,
            },
            new HubParameterNames("mlp", MlpNames.Projections));
    }
}
