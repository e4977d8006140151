using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.Formats.Config;

/// <summary>
/// Architecture of a DeepSeekMoE-style decoder, serialised as a Hugging Face style <c>config.json</c>.
/// Every layer's feed-forward block is a mixture of fine-grained routed SwiGLU experts plus optional
/// always-on shared experts (one SwiGLU of width <c>n_shared_experts * moe_intermediate_size</c>, as in DeepSeekMoE).
/// </summary>
public sealed record MoeConfig
{
    public const string FileName = "config.json";

    /// <summary>Always this layout's own, <c>desmoe</c>: a hub architecture's name would make tools read the file as that architecture's config.</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "desmoe";

    /// <summary>The hub <c>model_type</c> the model was loaded from (qwen2_moe, mixtral, ...); absent for the bundled layout.</summary>
    [JsonPropertyName("source_model_type")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SourceModelType { get; init; }
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    [JsonPropertyName("num_hidden_layers")] public int NumLayers { get; init; }
    [JsonPropertyName("num_attention_heads")] public int NumHeads { get; init; }
    [JsonPropertyName("num_key_value_heads")] public int NumKvHeads { get; init; }
    [JsonPropertyName("n_routed_experts")] public int NumRoutedExperts { get; init; }
    [JsonPropertyName("n_shared_experts")] public int NumSharedExperts { get; init; }
    [JsonPropertyName("num_experts_per_tok")] public int TopK { get; init; }
    [JsonPropertyName("moe_intermediate_size")] public int ExpertHiddenSize { get; init; }
    [JsonPropertyName("norm_topk_prob")] public bool NormalizeTopKProbabilities { get; init; } = true;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositions { get; init; }
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEpsilon { get; init; } = 1e-6;
    [JsonPropertyName("aux_loss_alpha")] public double AuxLossAlpha { get; init; } = 0.01;
    /// <summary>
    /// Hidden width of DES-MoE's adaptive router residual in every MoE layer (<c>layers.{i}.mlp.router.adapter.*</c>);
    /// 0 (absent from the file) for the plain linear gate.
    /// </summary>
    [JsonPropertyName("desmoe_adaptive_router_width")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int AdaptiveRouterWidth { get; init; }

    /// <summary>
    /// Expert slots per MoE layer after the <see cref="NumRoutedExperts"/> the router scores: copies of routed experts
    /// that domains added online train instead of the originals (<c>layers.{i}.mlp.experts.{n_routed_experts + j}</c>).
    /// The router never scores them; a domain's requests reach them through the assignment's slot table. 0 (absent
    /// from the file) for a model without such domains, which every folder made before them is.
    /// </summary>
    [JsonPropertyName("desmoe_domain_expert_copies")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int DomainExpertCopies { get; init; }

    /// <summary>Expert modules per MoE layer: the routed experts, then the domains' copies.</summary>
    [JsonIgnore] public int ExpertSlots => NumRoutedExperts + DomainExpertCopies;


    // The fields below let the model hold the standard-attention hub architectures (Qwen2-MoE, Qwen3-MoE, OLMoE,
    // Mixtral; see Architectures/*/…DesMoeForm). Each is absent from the file at its default, so the bundled
    // model's config.json is unchanged.

    /// <summary>Biases on q_proj, k_proj and v_proj (Qwen2-MoE); with latent attention, on q_a_proj, kv_a_proj_with_mqa and o_proj (DeepSeek-V2).</summary>
    [JsonPropertyName("attention_bias")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool AttentionBias { get; init; }

    /// <summary>The output projection is the token embedding (<c>tie_word_embeddings</c>): no <c>lm_head</c> of its own, trained once, saved once.</summary>
    [JsonPropertyName("tie_word_embeddings")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool TieWordEmbeddings { get; init; }

    /// <summary>A bias on o_proj (Qwen3-MoE and OLMoE with <c>attention_bias</c>; Qwen2-MoE biases q/k/v only).</summary>
    [JsonPropertyName("attention_output_bias")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool AttentionOutputBias { get; init; }

    /// <summary>OLMoE's <c>clip_qkv</c>: queries, keys and values clamped to [-c, c] after their projection (and OLMoE's q/k norm); null for none.</summary>
    [JsonPropertyName("clip_qkv")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ClipQkv { get; init; }

    /// <summary>RMSNorm of queries and keys before rope: per head (Qwen3-MoE) or over the whole projection (OLMoE).</summary>
    [JsonPropertyName("qk_norm")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public QkNormalization QkNorm { get; init; }

    /// <summary>Explicit head width (Qwen3-MoE); 0 means hidden_size / num_attention_heads.</summary>
    [JsonPropertyName("head_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int ExplicitHeadDim { get; init; }

    /// <summary>Explicit shared-expert width (Qwen2-MoE); 0 means n_shared_experts * moe_intermediate_size.</summary>
    [JsonPropertyName("shared_expert_intermediate_size")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int ExplicitSharedExpertHiddenSize { get; init; }

    /// <summary>Scales the shared expert's output by sigmoid(shared_experts_gate(x)) per token (Qwen2-MoE).</summary>
    [JsonPropertyName("shared_expert_gate")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool SharedExpertGate { get; init; }

    // DeepSeek-V2's fields (multi-head latent attention, YaRN, a dense prefix, scaled routing); see
    // Architectures/DeepseekV2. Absent at their defaults like the ones above.

    /// <summary>The first this many decoder layers have a dense SwiGLU of <see cref="DenseHiddenSize"/> instead of a MoE block.</summary>
    [JsonPropertyName("first_k_dense_replace")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int DenseLayers { get; init; }

    /// <summary>
    /// Decoder layers with a dense SwiGLU wherever they sit in the stack (Qwen's <c>mlp_only_layers</c> and
    /// <c>decoder_sparse_step</c>, DeepSeek's <c>moe_layer_freq</c>), by layer index; null when the dense layers are
    /// the <see cref="DenseLayers"/> prefix (or there are none). The trainable model keeps them as
    /// <c>dense_layers.{d}</c> and the MoE layers as <c>layers.{i}</c>, each numbered in stack order.
    /// </summary>
    [JsonPropertyName("mlp_only_layers")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int[]? MlpOnlyLayers { get; init; }

    /// <summary>Width of the dense layers' SwiGLU (<c>intermediate_size</c>); used only with dense layers.</summary>
    [JsonPropertyName("intermediate_size")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int DenseHiddenSize { get; init; }

    /// <summary>Rank of the key/value latent; positive selects multi-head latent attention (<see cref="Model.LatentAttention"/>).</summary>
    [JsonPropertyName("kv_lora_rank")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int KvLoraRank { get; init; }

    /// <summary>Rank of the query's low-rank path (q_a_proj, q_a_layernorm, q_b_proj); 0 is a plain q_proj.</summary>
    [JsonPropertyName("q_lora_rank")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int QLoraRank { get; init; }

    [JsonPropertyName("qk_nope_head_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int QkNopeHeadDim { get; init; }

    [JsonPropertyName("qk_rope_head_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int QkRopeHeadDim { get; init; }

    [JsonPropertyName("v_head_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int VHeadDim { get; init; }

    /// <summary>Rotates dimension 2i with 2i + 1 (DeepSeek-V2 in transformers 5) instead of i with i + d/2.</summary>
    [JsonPropertyName("rope_interleaved")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool RopeInterleaved { get; init; }

    /// <summary>YaRN context extension; null is plain rope.</summary>
    [JsonPropertyName("rope_scaling")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>Multiplies the routed experts' weighted sum (DeepSeek-V2's <c>routed_scaling_factor</c>); null is 1.</summary>
    [JsonPropertyName("routed_scaling_factor")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? RoutedScalingFactor { get; init; }

    /// <summary>
    /// DeepSeek's group-limited greedy routing: the routed experts split into this many equal groups (<c>n_group</c>),
    /// and a token picks its top-k only among the <see cref="RouterGroupsKept"/> groups whose best expert scores
    /// highest. Null (absent from the file) is plain top-k.
    /// </summary>
    [JsonPropertyName("n_group")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? RouterGroupCount { get; init; }

    /// <summary>Groups a token may pick from under group-limited routing (<c>topk_group</c>); null keeps every group.</summary>
    [JsonPropertyName("topk_group")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? RouterGroupsKeptCount { get; init; }

    [JsonIgnore] public int RouterGroups => RouterGroupCount ?? 1;
    [JsonIgnore] public int RouterGroupsKept => RouterGroupsKeptCount ?? RouterGroups;

    /// <summary>Whether routing drops whole groups of experts (<see cref="RouterGroupCount"/>): with every group kept it is plain top-k.</summary>
    [JsonIgnore] public bool GroupLimitedRouting => RouterGroupsKept < RouterGroups;

    [JsonIgnore] public bool LatentAttention => KvLoraRank > 0;
    [JsonIgnore] public int HeadDim => ExplicitHeadDim > 0 ? ExplicitHeadDim : HiddenSize / NumHeads;
    [JsonIgnore] public int SharedExpertHiddenSize => ExplicitSharedExpertHiddenSize > 0 ? ExplicitSharedExpertHiddenSize : NumSharedExperts * ExpertHiddenSize;
    [JsonIgnore] public int NumDenseLayers => MlpOnlyLayers?.Length ?? DenseLayers;
    [JsonIgnore] public int NumMoeLayers => NumLayers - NumDenseLayers;

    /// <summary>Whether decoder layer <paramref name="layer"/> has a dense SwiGLU rather than a MoE block.</summary>
    public bool IsDense(int layer) => MlpOnlyLayers is { } dense ? Array.IndexOf(dense, layer) >= 0 : layer < DenseLayers;

    /// <summary>The dense decoder layers' indices, in stack order.</summary>
    [JsonIgnore] public int[] DenseLayerIndices => Enumerable.Range(0, NumLayers).Where(IsDense).ToArray();

    /// <summary>
    /// Per decoder layer, in stack order: whether it is dense, and its index among its kind (<c>dense_layers.{d}</c>
    /// or <c>layers.{i}</c>), which the trainable model and the export name and index it by.
    /// </summary>
    public (bool Dense, int Index)[] LayerKinds()
    {
        var kinds = new (bool, int)[NumLayers];
        int dense = 0, moe = 0;
        for (int layer = 0; layer < NumLayers; layer++)
            kinds[layer] = IsDense(layer) ? (true, dense++) : (false, moe++);
        return kinds;
    }
    [JsonIgnore] public double RoutedScale => RoutedScalingFactor ?? 1.0;

    /// <summary>Query/key width per head: qk_nope + qk_rope under latent attention, else head_dim.</summary>
    [JsonIgnore] public int QueryHeadDim => LatentAttention ? QkNopeHeadDim + QkRopeHeadDim : HeadDim;

    /// <summary>Width of the rotated part of each query/key head.</summary>
    [JsonIgnore] public int RotaryDim => LatentAttention ? QkRopeHeadDim : HeadDim;

    /// <summary>
    /// The KV cache of one layer, the layout the ONNX graph's past/present tensors and the server's slots share:
    /// keys [batch, <see cref="CacheHeads"/>, seq, <see cref="KeyCacheDim"/>], values [.., <see cref="ValueCacheDim"/>].
    /// Standard attention caches per-KV-head keys and values; latent attention caches what MLA was designed to:
    /// the normalised latent as the "key" and the one shared rotated rope key as the "value", both one head wide
    /// (576 floats per token and layer for DeepSeek-V2-Lite instead of 16 x (192 + 128) expanded).
    /// </summary>
    [JsonIgnore] public int CacheHeads => LatentAttention ? 1 : NumKvHeads;
    [JsonIgnore] public int KeyCacheDim => LatentAttention ? KvLoraRank : HeadDim;
    [JsonIgnore] public int ValueCacheDim => LatentAttention ? QkRopeHeadDim : HeadDim;

    /// <summary>
    /// The softmax scale of attention scores: query_head_dim^-0.5, times YaRN's mscale^2 under latent attention with
    /// mscale_all_dim (DeepSeek-V2's own code and transformers both apply it there).
    /// </summary>
    [JsonIgnore]
    public double AttentionScale
    {
        get
        {
            double scale = 1.0 / Math.Sqrt(QueryHeadDim);
            if (LatentAttention && RopeScaling is { MscaleAllDim: { } all } yarn && all != 0)
            {
                double m = Hub.RopeSettings.YarnMscale(yarn.Factor, all);
                scale *= m * m;
            }
            return scale;
        }
    }

    /// <summary>The small model bundled with the repository: ~2M parameters, 16 fine-grained experts, top-4.</summary>
    public static MoeConfig Small(int vocabSize) => new()
    {
        VocabSize = vocabSize,
        HiddenSize = 128,
        NumLayers = 4,
        NumHeads = 4,
        NumKvHeads = 2,
        NumRoutedExperts = 16,
        NumSharedExperts = 1,
        TopK = 4,
        ExpertHiddenSize = 64,
        MaxPositions = 160,
    };

    /// <summary>Throws <see cref="InvalidDataException"/> naming every inconsistent field.</summary>
    public MoeConfig Validate()
    {
        var problems = new List<string>();
        void Positive(int value, string name)
        {
            if (value <= 0) problems.Add($"{name} must be positive (got {value})");
        }
        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(NumLayers, "num_hidden_layers");
        Positive(NumHeads, "num_attention_heads");
        Positive(NumKvHeads, "num_key_value_heads");
        Positive(NumRoutedExperts, "n_routed_experts");
        Positive(TopK, "num_experts_per_tok");
        Positive(ExpertHiddenSize, "moe_intermediate_size");
        Positive(MaxPositions, "max_position_embeddings");
        if (AdaptiveRouterWidth < 0) problems.Add($"desmoe_adaptive_router_width must not be negative (got {AdaptiveRouterWidth})");
        if (DomainExpertCopies < 0) problems.Add($"desmoe_domain_expert_copies must not be negative (got {DomainExpertCopies})");
        if (NumSharedExperts < 0) problems.Add($"n_shared_experts must not be negative (got {NumSharedExperts})");
        if (TopK > NumRoutedExperts)
            problems.Add($"num_experts_per_tok ({TopK}) exceeds n_routed_experts ({NumRoutedExperts})");
        if (ExplicitHeadDim < 0) problems.Add($"head_dim must not be negative (got {ExplicitHeadDim})");
        if (ExplicitSharedExpertHiddenSize < 0)
            problems.Add($"shared_expert_intermediate_size must not be negative (got {ExplicitSharedExpertHiddenSize})");
        if (SharedExpertGate && NumSharedExperts == 0) problems.Add("shared_expert_gate is set but n_shared_experts is 0");
        if (ClipQkv is <= 0 or double.NaN) problems.Add($"clip_qkv must be positive (got {ClipQkv})");
        bool headDimKnown = ExplicitHeadDim > 0 || (NumHeads > 0 && HiddenSize % NumHeads == 0);
        if (ExplicitHeadDim == 0 && NumHeads > 0 && HiddenSize % NumHeads != 0)
            problems.Add($"hidden_size ({HiddenSize}) is not divisible by num_attention_heads ({NumHeads})");
        if (NumKvHeads > 0 && NumHeads % NumKvHeads != 0)
            problems.Add($"num_attention_heads ({NumHeads}) is not divisible by num_key_value_heads ({NumKvHeads})");
        if (!LatentAttention && NumHeads > 0 && headDimKnown && HeadDim % 2 != 0)
            problems.Add($"head dimension ({HeadDim}) must be even for rotary embeddings");
        if (DenseLayers < 0 || DenseLayers >= NumLayers && NumLayers > 0)
            problems.Add($"first_k_dense_replace ({DenseLayers}) must be at least 0 and below num_hidden_layers ({NumLayers})");
        if (MlpOnlyLayers is { } dense)
        {
            if (DenseLayers > 0) problems.Add($"first_k_dense_replace ({DenseLayers}) and mlp_only_layers cannot both be set: list every dense layer in mlp_only_layers");
            var outside = dense.Where(l => l < 0 || l >= NumLayers).ToList();
            if (outside.Count > 0) problems.Add($"mlp_only_layers [{string.Join(", ", outside)}] are outside 0..{NumLayers - 1}");
            if (dense.Distinct().Count() != dense.Length) problems.Add($"mlp_only_layers [{string.Join(", ", dense)}] lists a layer twice");
            if (NumLayers > 0 && dense.Distinct().Count() >= NumLayers) problems.Add("mlp_only_layers makes every layer dense: there is no MoE layer to adapt");
        }
        if (NumDenseLayers > 0 && DenseHiddenSize <= 0) problems.Add($"intermediate_size must be positive with dense layers (got {DenseHiddenSize})");
        if (LatentAttention)
        {
            Positive(QkNopeHeadDim, "qk_nope_head_dim");
            Positive(QkRopeHeadDim, "qk_rope_head_dim");
            Positive(VHeadDim, "v_head_dim");
            if (QkRopeHeadDim % 2 != 0) problems.Add($"qk_rope_head_dim ({QkRopeHeadDim}) must be even for rotary embeddings");
            if (QLoraRank < 0) problems.Add($"q_lora_rank must not be negative (got {QLoraRank})");
            if (AttentionOutputBias || QkNorm != QkNormalization.None || ClipQkv is not null)
                problems.Add("attention_output_bias, qk_norm and clip_qkv do not apply to latent attention (its attention_bias covers q_a_proj, kv_a_proj_with_mqa and o_proj)");
        }
        if (RoutedScalingFactor is <= 0) problems.Add($"routed_scaling_factor must be positive (got {RoutedScalingFactor})");
        if (RouterGroups < 1 || NumRoutedExperts % RouterGroups != 0)
            problems.Add($"n_group ({RouterGroups}) must be positive and divide n_routed_experts ({NumRoutedExperts})");
        else if (RouterGroupsKept < 1 || RouterGroupsKept > RouterGroups)
            problems.Add($"topk_group ({RouterGroupsKept}) must be between 1 and n_group ({RouterGroups})");
        else if (TopK > RouterGroupsKept * (NumRoutedExperts / RouterGroups))
            problems.Add($"num_experts_per_tok ({TopK}) exceeds the {RouterGroupsKept * (NumRoutedExperts / RouterGroups)} experts of topk_group ({RouterGroupsKept}) groups");
        if (RopeScaling is { } rope) problems.AddRange(rope.Problems());
        if (problems.Count > 0)
            throw new InvalidDataException("invalid model config: " + string.Join("; ", problems));
        return this;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static MoeConfig FromJson(string json, string source = "config") =>
        (JsonSerializer.Deserialize<MoeConfig>(json, JsonOptions)
         ?? throw new InvalidDataException($"{source}: empty model config")).Validate();

    public static MoeConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model config not found: {path}", path);
        try
        {
            return FromJson(File.ReadAllText(path), path);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: malformed JSON: {e.Message}", e);
        }
    }
}

/// <summary>Where queries and keys are RMS-normalised before rope, if anywhere.</summary>
public enum QkNormalization
{
    [JsonStringEnumMemberName("none")] None,
    /// <summary>q_norm/k_norm of width head_dim, applied to every head (Qwen3-MoE).</summary>
    [JsonStringEnumMemberName("per_head")] PerHead,
    /// <summary>q_norm/k_norm over the whole q/k projection, before the head split (OLMoE).</summary>
    [JsonStringEnumMemberName("projection")] WholeProjection,
}
