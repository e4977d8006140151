using DesMoe.Core.Architectures.Trainable;
using DesMoe.Core.Architectures.Common;
using DesMoe.Core.Architectures.Hub;

namespace DesMoe.Core.Architectures.DeepseekV2;

public sealed class DeepseekV2Architecture : HubArchitecture<DeepseekV2Config>
{
    public override string ModelType => DeepseekV2Config.Type;

    public override DeepseekV2Config Read(ConfigJson config) => DeepseekV2Config.Read(config);

    public override CausalLanguageModel Build(DeepseekV2Config config)
    {
        // Only the qk_rope_head_dim slice of each head is rotated; transformers 5 rotates it pairwise (complex form).
        var rotary = config.Common.CreateRotary(config.QkRopeHeadDim, RotaryLayout.Interleaved);
        // DeepSeek's reference code renormalises when norm_topk_prob and applies routed_scaling_factor only otherwise
        // (every released V2 checkpoint has norm_topk_prob false, where all implementations agree).
        var rule = new RoutingRule(config.TopK, Renormalize: config.NormTopKProb,
            Scale: config.NormTopKProb ? 1.0 : config.RoutedScalingFactor, Groups: config.NGroup, GroupsKept: config.TopKGroup);
        var shared = config.SharedExperts > 0 ? new SharedExperts("shared_experts", (long)config.SharedExperts * config.MoeIntermediateSize) : null;
        var layers = Enumerable.Range(0, config.NumLayers).Select(i => new DecoderLayer(i, config.HiddenSize, config.RmsNormEps,
                new MultiHeadLatentAttention(config, rotary), "mlp",
                config.IsMoe(i)
                    ? new SparseMoeBlock(config.HiddenSize, config.RoutedExperts, config.MoeIntermediateSize, rule, MlpNames.Projections, shared)
                    : new SwiGluMlp(config.HiddenSize, config.IntermediateSize, MlpNames.Projections)))
            .ToList();
        return new CausalLanguageModel(config, layers);
    }

    /// <summary>
    /// Multi-head latent attention caches a latent, not per-head keys and values, so it needs its own trainable
    /// attention, ONNX graph and server cache layout; until then DeepSeek-V2 loads, inspects and matches transformers
    /// here, and adaptation/export refuse it in one line.
    /// </summary>
    public override DesMoeForm ToDesMoe(DeepseekV2Config config) =>
        throw new HubModelException($"{config.ModelType}: multi-head latent attention is not supported for adaptation and export yet (supported: {string.Join(", ", ArchitectureRegistry.SupportedModelTypes.Where(t => t != config.ModelType))})");
}
