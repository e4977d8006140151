namespace DesMoe.Formats.Architectures;

/// <summary>
/// The trainable model's module names, one table for every runtime that spells them: the TorchSharp modules register
/// them (<c>[ComponentName]</c>), the hub mapping (<see cref="HubParameterNames"/>) translates them and the exporter
/// reads the weights by them. A parameter's name is the path of these, e.g.
/// <c>layers.{i}.mlp.experts.{e}.gate_proj.weight</c>.
/// </summary>
public static class TensorNames
{
    // The model (MoeTransformer).
    public const string EmbedTokens = "embed_tokens";
    /// <summary>The dense layers before the MoE ones (DeepSeek-V2's first_k_dense_replace): <c>dense_layers.{d}</c>.</summary>
    public const string DenseLayers = "dense_layers";
    /// <summary>The MoE layers, indexed by MoE layer: <c>layers.{i}</c>.</summary>
    public const string Layers = "layers";
    public const string Norm = "norm";
    public const string LmHead = "lm_head";

    // A decoder layer.
    public const string InputLayerNorm = "input_layernorm";
    public const string SelfAttn = "self_attn";
    public const string PostAttentionLayerNorm = "post_attention_layernorm";
    /// <summary>The feed-forward: the MoE block, or a dense layer's SwiGLU.</summary>
    public const string Mlp = "mlp";

    // Attention with grouped heads.
    public const string QProj = "q_proj", KProj = "k_proj", VProj = "v_proj", OProj = "o_proj", QNorm = "q_norm", KNorm = "k_norm";

    // DeepSeek-V2's latent attention (its o_proj is OProj).
    public const string QAProj = "q_a_proj", QALayerNorm = "q_a_layernorm", QBProj = "q_b_proj";
    public const string KvAProjWithMqa = "kv_a_proj_with_mqa", KvALayerNorm = "kv_a_layernorm", KvBProj = "kv_b_proj";

    // The MoE block.
    public const string Router = "router";
    /// <summary>The router's linear scores: <c>mlp.router.gate.weight</c>.</summary>
    public const string RouterGate = "gate";
    /// <summary>The adaptive router's residual MLP inside a router: <c>layers.{i}.mlp.router.adapter.*</c>.</summary>
    public const string RouterAdapter = "adapter";
    public const string AdapterFc1 = "fc1", AdapterFc2 = "fc2";
    public const string Experts = "experts";
    public const string SharedExperts = "shared_experts";
    /// <summary>The shared expert's sigmoid gate inside a MoE block: <c>layers.{i}.mlp.shared_experts_gate.weight</c>.</summary>
    public const string SharedExpertGate = "shared_experts_gate";

    // A SwiGLU expert (routed, shared, or a dense layer's).
    public const string GateProj = "gate_proj", UpProj = "up_proj", DownProj = "down_proj";

    public const string Weight = "weight";

    /// <summary>
    /// Buffers some checkpoints store that the model derives from its config (rotary inverse frequencies): neither
    /// loaded nor reported as unexpected.
    /// </summary>
    public static bool IsDerivedBuffer(string name) => name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);
}
