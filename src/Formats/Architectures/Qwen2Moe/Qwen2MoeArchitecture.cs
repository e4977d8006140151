using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures.Qwen2Moe;

public sealed class Qwen2MoeArchitecture : HubArchitecture<Qwen2MoeConfig>
{
    public override string ModelType => Qwen2MoeConfig.Type;

    public override Qwen2MoeConfig Read(ConfigJson config) => Qwen2MoeConfig.Read(config);

    public override DesMoeForm ToDesMoe(Qwen2MoeConfig config) => new(
        DesMoeForm.Standard(config, config.NumExperts, config.TopK, config.MoeIntermediateSize, config.NormTopKProb, config.IsSparse, config.IntermediateSize) with
        {
            AttentionBias = config.QkvBias,
            NumSharedExperts = 1,
            ExplicitSharedExpertHiddenSize = config.SharedExpertIntermediateSize,
            SharedExpertGate = true,
        },
        new HubParameterNames("mlp", MlpNames.Projections, SharedExpert: "shared_expert", SharedExpertGate: "shared_expert_gate"));
}
