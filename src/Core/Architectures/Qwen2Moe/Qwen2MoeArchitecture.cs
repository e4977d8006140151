using DesMoe.Core.Architectures.Trainable;
using DesMoe.Core.Architectures.Common;
using DesMoe.Core.Architectures.Hub;

namespace DesMoe.Core.Architectures.Qwen2Moe;

public sealed class Qwen2MoeArchitecture : HubArchitecture<Qwen2MoeConfig>
{
    public override string ModelType => Qwen2MoeConfig.Type;

    public override Qwen2MoeConfig Read(ConfigJson config) => Qwen2MoeConfig.Read(config);

    public override CausalLanguageModel Build(Qwen2MoeConfig config)
    {
        var attention = new AttentionShape(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim, QkvBias: config.QkvBias);
        var rule = new RoutingRule(config.TopK, Renormalize: config.NormTopKProb);
        var shared = new SharedExperts("shared_expert", config.SharedExpertIntermediateSize, GateName: "shared_expert_gate");
        return StandardLayers.Build(config, attention, "mlp", layer => config.IsSparse(layer)
            ? new SparseMoeBlock(config.HiddenSize, config.NumExperts, config.MoeIntermediateSize, rule, MlpNames.Projections, shared)
            : new SwiGluMlp(config.HiddenSize, config.IntermediateSize, MlpNames.Projections));
    }

    public override DesMoeForm ToDesMoe(Qwen2MoeConfig config) => new(
        DesMoeForm.Standard(config, config.NumExperts, config.TopK, config.MoeIntermediateSize, config.NormTopKProb, config.IsSparse) with
        {
            AttentionBias = config.QkvBias,
            NumSharedExperts = 1,
            ExplicitSharedExpertHiddenSize = config.SharedExpertIntermediateSize,
            SharedExpertGate = true,
        },
        new HubParameterNames("mlp", MlpNames.Projections, SharedExpert: "shared_expert", SharedExpertGate: "shared_expert_gate"));
}
