using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Architectures.DeepseekV2;
using DesMoe.Formats.Architectures.Mixtral;
using DesMoe.Formats.Architectures.Olmoe;
using DesMoe.Formats.Architectures.Qwen2Moe;
using DesMoe.Formats.Architectures.Qwen3Moe;
using DesMoe.Formats.Hub;

namespace DesMoe.Tests.Reference;

/// <summary>
/// The reference module of each architecture, written after transformers' modeling files line by line and named as
/// in the checkpoint: the oracle the trainable form (<see cref="DesMoe.Torch.Model.MoeTransformer"/>) is held to, with
/// transformers' fixtures as ground truth. Test code: nothing in the product runs it.
/// </summary>
public static class ReferenceModels
{
    /// <summary>A float32 module with freshly initialised parameters named as in the checkpoint.</summary>
    public static CausalLanguageModel Build(HubModelConfig config) => config switch
    {
        DeepseekV2Config c => Build(c),
        MixtralConfig c => Build(c),
        OlmoeConfig c => Build(c),
        Qwen2MoeConfig c => Build(c),
        Qwen3MoeConfig c => Build(c),
        _ => throw new ArgumentException($"no reference module for {config.ModelType}", nameof(config)),
    };

    private static CausalLanguageModel Build(DeepseekV2Config config)
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

    private static CausalLanguageModel Build(MixtralConfig config)
    {
            var attention = new AttentionShape(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim);
            var rule = new RoutingRule(config.TopK, Renormalize: true);
            return StandardLayers.Build(config, attention, MixtralConfig.FeedForwardName,
                _ => new SparseMoeBlock(config.HiddenSize, config.NumExperts, config.ExpertIntermediateSize, rule, MlpNames.Mixtral));
    }

    private static CausalLanguageModel Build(OlmoeConfig config)
    {
            var attention = new AttentionShape(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim,
                QkvBias: config.AttentionBias, OutputBias: config.AttentionBias, Norm: QkNorm.WholeProjection, NormEpsilon: config.RmsNormEps,
                ClipQkv: config.ClipQkv);
            var rule = new RoutingRule(config.TopK, Renormalize: config.NormTopKProb);
            return StandardLayers.Build(config, attention, "mlp",
                _ => new SparseMoeBlock(config.HiddenSize, config.NumExperts, config.ExpertIntermediateSize, rule, MlpNames.Projections));
    }

    private static CausalLanguageModel Build(Qwen2MoeConfig config)
    {
            var attention = new AttentionShape(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim, QkvBias: config.QkvBias);
            var rule = new RoutingRule(config.TopK, Renormalize: config.NormTopKProb);
            var shared = new SharedExperts("shared_expert", config.SharedExpertIntermediateSize, GateName: "shared_expert_gate");
            return StandardLayers.Build(config, attention, "mlp", layer => config.IsSparse(layer)
                ? new SparseMoeBlock(config.HiddenSize, config.NumExperts, config.MoeIntermediateSize, rule, MlpNames.Projections, shared)
                : new SwiGluMlp(config.HiddenSize, config.IntermediateSize, MlpNames.Projections));
    }

    private static CausalLanguageModel Build(Qwen3MoeConfig config)
    {
            var attention = new AttentionShape(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim,
                QkvBias: config.AttentionBias, OutputBias: config.AttentionBias, Norm: QkNorm.PerHead, NormEpsilon: config.RmsNormEps);
            var rule = new RoutingRule(config.TopK, Renormalize: config.NormTopKProb);
            return StandardLayers.Build(config, attention, "mlp", layer => config.IsSparse(layer)
                ? new SparseMoeBlock(config.HiddenSize, config.NumExperts, config.MoeIntermediateSize, rule, MlpNames.Projections)
                : new SwiGluMlp(config.HiddenSize, config.IntermediateSize, MlpNames.Projections));
    }
}
