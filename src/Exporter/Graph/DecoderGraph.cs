using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Onnx;
using DesMoe.Exporter.Onnx;
using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Exporter.Graph;

/// <summary>
/// Builds the whole decoder as one ONNX graph: embeddings, rotary GQA attention with a KV cache, domain-routed
/// sparse MoE blocks, final norm and LM head. It mirrors <see cref="MoeTransformer.Forward"/> op for op, so the
/// two agree to float rounding (the parity tests hold it to 1e-4).
/// </summary>
public sealed class DecoderGraph
{
    private readonly MoeConfig _config;
    private readonly GraphBuilder _g;
    private readonly WeightTable _weights;
    private readonly ExportOptions _options;
    private readonly IReadOnlyList<bool[,]> _routing;
    private readonly IReadOnlyList<long[,]>? _slots;

    // Values shared by every layer.
    private RowsInBatch? _rowsInBatch;
    private string _additiveMask = "", _positions = "", _cosCache = "", _sinCache = "", _tokenDomainRows = "";

    private DecoderGraph(MoeTransformer model, IReadOnlyList<bool[,]> routing, IReadOnlyList<long[,]>? slots, ExportOptions options, ExternalDataFile? externalData)
    {
        _config = model.Config;
        _routing = routing;
        _slots = slots;
        _options = options;
        _g = new GraphBuilder("desmoe_decoder") { ExternalData = externalData };
        _weights = new WeightTable(model, _g, options.Precision, options.WeightBlockBytes);
    }

    /// <param name="routing">per layer, [domains + 1, experts] allowed experts; row 0 is the no-domain path (domain id -1)</param>
    /// <param name="externalData">where the weights' bytes go as they are built; null keeps them inside the graph</param>
    /// <param name="slots">
    /// per layer, [domains + 1, experts] the expert slot each row runs for each chosen expert (<see cref="ExpertAssignment.SlotTable"/>);
    /// required when the model has domain expert copies, null otherwise
    /// </param>
    public static GraphBuilder Build(MoeTransformer model, IReadOnlyList<bool[,]> routing, ExportOptions options, ExternalDataFile? externalData = null,
        IReadOnlyList<long[,]>? slots = null)
    {
        if (routing.Count != model.Config.NumMoeLayers)
            throw new ArgumentException($"routing table has {routing.Count} layers but the model has {model.Config.NumMoeLayers}");
        if ((slots is null) != (model.Config.DomainExpertCopies == 0))
            throw new ArgumentException(slots is null
                ? $"the model has {model.Config.DomainExpertCopies} domain expert copies per layer but no slot table sends any domain to them"
                : "a slot table was given but the model has no domain expert copies");
        if (slots is not null && (slots.Count != routing.Count || slots.Where((t, l) => t.GetLength(0) != routing[l].GetLength(0) || t.GetLength(1) != routing[l].GetLength(1)).Any()))
            throw new ArgumentException("the slot table's layers and shapes must match the routing table's");
        var graph = new DecoderGraph(model, routing, slots, options, externalData);
        graph.BuildGraph();
        return graph._g;
    }

    private void BuildGraph()
    {
        int cacheHeads = _config.CacheHeads, keyDim = _config.KeyCacheDim, valueDim = _config.ValueCacheDim;
        var ids = _g.Input(OnnxNames.InputIds, DataType.Int64, "batch", "sequence");
        var mask = _g.Input(OnnxNames.AttentionMask, DataType.Int64, "batch", "total_sequence");
        var positions = _g.Input(OnnxNames.PositionIds, DataType.Int64, "batch", "sequence");
        var domains = _g.Input(OnnxNames.DomainIds, DataType.Int64, "batch");
        // An input with an initializer of the same name is optional: callers that know nothing of domains
        // (onnxruntime-genai, generic ORT clients) get the no-domain path.
        _g.Initializer(Tensors.Int64([ExpertAssignment.NoDomain], [1], OnnxNames.DomainIds));
        // One past/present pair per decoder layer, dense ones first (the KV cache's numbering, MoeTransformer's too).
        var past = Enumerable.Range(0, _config.NumLayers).Select(l => (
            Key: _g.Input(OnnxNames.PastKey(l), DataType.Float, "batch", cacheHeads, "past_sequence", keyDim),
            Value: _g.Input(OnnxNames.PastValue(l), DataType.Float, "batch", cacheHeads, "past_sequence", valueDim))).ToList();

        using (_g.Scope("prologue"))
        {
            _additiveMask = AdditiveMask(ids, mask);
            _positions = positions;
            (_cosCache, _sinCache) = RotaryCaches();
            _tokenDomainRows = TokenDomainRows(ids, domains);
            if (_slots is not null) _rowsInBatch = DomainCopies.RowsIn(_g, _slots, _tokenDomainRows);
        }

        var hidden = _g.Gather(_weights.Get($"{TensorNames.EmbedTokens}.weight"), ids);
        var kinds = _config.LayerKinds();
        for (int l = 0; l < kinds.Length; l++)
        {
            var (dense, index) = kinds[l]; // index among its kind: dense_layers.{d} or layers.{i}
            var prefix = dense ? $"{TensorNames.DenseLayers}.{index}." : $"{TensorNames.Layers}.{index}.";
            using var scope = _g.Scope(prefix.TrimEnd('.'));
            var normed = RmsNorm(hidden, _weights.Get($"{prefix}{TensorNames.InputLayerNorm}.weight"));
            var (attention, presentKey, presentValue) = _config.LatentAttention
                ? LatentAttention(normed, prefix, past[l].Key, past[l].Value)
                : Attention(normed, prefix, past[l].Key, past[l].Value);
            _g.Output(presentKey, OnnxNames.PresentKey(l), DataType.Float, "batch", cacheHeads, "total_sequence", keyDim);
            _g.Output(presentValue, OnnxNames.PresentValue(l), DataType.Float, "batch", cacheHeads, "total_sequence", valueDim);
            var h = _g.Add(hidden, attention);
            var postNormed = RmsNorm(h, _weights.Get($"{prefix}{TensorNames.PostAttentionLayerNorm}.weight"));
            hidden = _g.Add(h, dense ? DenseMlp(postNormed, prefix) : Moe(postNormed, index));
        }

        var head = _config.TieWordEmbeddings ? TensorNames.EmbedTokens : TensorNames.LmHead; // tied: the embedding scores the vocabulary
        var logits = _g.MatMul(RmsNorm(hidden, _weights.Get($"{TensorNames.Norm}.weight")), _weights.Linear($"{head}.weight"));
        _g.Output(logits, OnnxNames.Logits, DataType.Float, "batch", "sequence", _config.VocabSize);
        // A greedy pick needs only these ids, so a server can leave the logits where they were computed (on the GPU
        // under CUDA). Two, for requests that never pick the end token. TopK ranks equal logits lower id first, as
        // TokenSampler.ArgMax does.
        var (_, topTokens) = _g.TopK(logits, _g.Int64s("k", OnnxNames.TopTokenCount), axis: -1);
        _g.Output(topTokens, OnnxNames.TopTokens, DataType.Int64, "batch", "sequence", OnnxNames.TopTokenCount);
    }

    /// <summary>[batch, 1, seq, total]: 0 where query i may see key j (j &lt;= past + i and key j is real), <see cref="MoeTransformer.MaskedScore"/> elsewhere.</summary>
    private string AdditiveMask(string ids, string mask)
    {
        var scalarAxis1 = _g.Int64Scalar("axis1", 1);
        var total = _g.Gather(_g.Shape(mask), scalarAxis1);
        var seq = _g.Gather(_g.Shape(ids), scalarAxis1);
        var one = _g.Int64Scalar("one", 1);
        var keyPositions = _g.Range(_g.Int64Scalar("zero", 0), total, one);
        var queryPositions = _g.Range(_g.Sub(total, seq), total, one);
        var causal = _g.LessOrEqual(_g.Unsqueeze(keyPositions, _g.Int64s("axes", 0)), _g.Unsqueeze(queryPositions, _g.Int64s("axes", 1)));
        var keyIsReal = _g.Unsqueeze(_g.Cast(mask, DataType.Bool), _g.Int64s("axes", 1, 2));
        return _g.Where(_g.And(causal, keyIsReal), _g.FloatScalar("visible", 0f), _g.FloatScalar("masked", MoeTransformer.MaskedScore));
    }

    /// <summary>
    /// cos and sin [max_positions, rotary_dim / 2] for com.microsoft.RotaryEmbedding (rotate-half convention), from the
    /// same frequencies and YaRN attention factor the trainable model uses; an angle is the float product of position
    /// and frequency, as the model computes it.
    /// </summary>
    private (string Cos, string Sin) RotaryCaches()
    {
        var (inverseFrequency, attentionFactor) = RotaryEmbedding.Frequencies(_config);
        int positions = _config.MaxPositions, half = inverseFrequency.Length;
        var cos = new float[positions * half];
        var sin = new float[positions * half];
        for (int p = 0; p < positions; p++)
            for (int i = 0; i < half; i++)
            {
                float angle = p * inverseFrequency[i];
                cos[p * half + i] = (float)Math.Cos(angle) * attentionFactor;
                sin[p * half + i] = (float)Math.Sin(angle) * attentionFactor;
            }
        return (_g.Constant("rotary_cos", Tensors.Float(cos, [positions, half])), _g.Constant("rotary_sin", Tensors.Float(sin, [positions, half])));
    }

    /// <summary>[batch * seq] row of the routing tables for every token: domain id + 1 (row 0 = no domain).</summary>
    private string TokenDomainRows(string ids, string domains)
    {
        var batch = _g.Dim(ids, 0);
        var rows = _g.Add(_g.Expand(domains, batch), _g.Int64s("one", 1));
        var perToken = _g.Expand(_g.Unsqueeze(rows, _g.Int64s("axes", 1)), _g.Shape(ids));
        return _g.Reshape(perToken, _g.Int64s("flat", -1));
    }

    private string RmsNorm(string x, string weight, double? epsilon = null)
    {
        using var scope = _g.Scope("rms_norm");
        var variance = _g.ReduceMean(_g.Pow(x, _g.FloatScalar("two", 2f)), _g.Int64s("axes", -1), keepDims: true);
        var scale = _g.Sqrt(_g.Add(variance, _g.FloatScalar("epsilon", (float)(epsilon ?? _config.RmsNormEpsilon))));
        return _g.Mul(_g.Div(x, scale), weight);
    }

    private (string Output, string PresentKey, string PresentValue) Attention(string x, string layerPrefix, string pastKey, string pastValue)
    {
        using var scope = _g.Scope("self_attn");
        int heads = _config.NumHeads, kvHeads = _config.NumKvHeads, headDim = _config.HeadDim;
        var prefix = $"{layerPrefix}{TensorNames.SelfAttn}.";
        // Mirrors Attention.Heads: optional bias, then q/k RMSNorm over the whole projection, clip_qkv, or RMSNorm per head.
        string Project(string name, int n, string? norm)
        {
            var projection = _g.MatMul(x, _weights.Linear(prefix + name + ".weight"));
            if (_config.AttentionBias) projection = _g.Add(projection, _weights.Get(prefix + name + ".bias"));
            if (norm is not null && _config.QkNorm == QkNormalization.WholeProjection)
                projection = RmsNorm(projection, _weights.Get(prefix + norm + ".weight"));
            if (_config.ClipQkv is { } clip)
                projection = _g.Op("Clip", projection, _g.FloatScalar("clip_low", (float)-clip), _g.FloatScalar("clip_high", (float)clip));
            var split = _g.Reshape(projection, _g.Int64s("heads_shape", 0, 0, n, headDim));
            if (norm is not null && _config.QkNorm == QkNormalization.PerHead)
                split = RmsNorm(split, _weights.Get(prefix + norm + ".weight"));
            return _g.Transpose(split, 0, 2, 1, 3);
        }

        bool normed = _config.QkNorm != QkNormalization.None;
        var q = Rotate(Project(TensorNames.QProj, heads, normed ? TensorNames.QNorm : null));
        var k = Rotate(Project(TensorNames.KProj, kvHeads, normed ? TensorNames.KNorm : null));
        var v = Project(TensorNames.VProj, kvHeads, null);
        var presentKey = _g.Concat(2, pastKey, k);
        var presentValue = _g.Concat(2, pastValue, v);

        // Grouped-query attention without repeating the cache: query head h = kv * groups + j, so q [b, heads, s, d]
        // viewed as [b, kv_heads, groups * s, d] lines every group up with its kv head, and the scores and context
        // come out of one broadcast-free MatMul each (an Expand of the cache would copy it every step).
        var scale = _g.FloatScalar("sqrt_head_dim", (float)Math.Sqrt(headDim));
        var scores = _g.Div(_g.MatMul(Grouped(q), _g.Transpose(presentKey, 0, 1, 3, 2)), scale); // [b, kv_heads, groups * s, total]
        var probabilities = _g.Softmax(_g.Add(PerHead(scores, 0), _additiveMask), -1); // [b, heads, s, total]
        var context = PerHead(_g.MatMul(Grouped(probabilities), presentValue), headDim); // [b, heads, s, d]
        var merged = _g.Reshape(_g.Transpose(context, 0, 2, 1, 3), _g.Int64s("merged_shape", 0, 0, heads * headDim));
        var output = _g.MatMul(merged, _weights.Linear($"{prefix}{TensorNames.OProj}.weight"));
        if (_config.AttentionOutputBias) output = _g.Add(output, _weights.Get($"{prefix}{TensorNames.OProj}.bias"));
        return (output, presentKey, presentValue);
    }

    /// <summary>Rotary position embedding of [batch, heads, seq, rotary_dim] at the step's position ids: one com.microsoft.RotaryEmbedding node.</summary>
    private string Rotate(string x) =>
        _g.Node("RotaryEmbedding", [x, _positions, _cosCache, _sinCache], 1, OnnxFormat.MicrosoftDomain, Attr.Int("interleaved", 0))[0];

    private string SliceLast(string x, long start, long end) =>
        _g.Slice(x, _g.Int64s("start", start), _g.Int64s("end", end), _g.Int64s("last_axis", -1));

    /// <summary>
    /// Multi-head latent attention in the absorbed form: kv_b_proj's key half is folded into each query head and its
    /// value half applied after attention, so a step attends over the cached latent [batch, 1, total, kv_lora_rank]
    /// and rope key [batch, 1, total, rope] directly instead of re-expanding every past position through kv_b_proj
    /// (which <see cref="global::DesMoe.Torch.Model.LatentAttention"/> does, the same function to float rounding). Per head h, with
    /// W_k[h] [nope, latent] and W_v[h] [v, latent] the rows of kv_b_proj:
    /// score = (q_nope W_k[h]) . latent + q_rope . k_rope, output = (p . latent) W_v[h]^T.
    /// </summary>
    private (string Output, string PresentKey, string PresentValue) LatentAttention(string x, string layerPrefix, string pastLatent, string pastRope)
    {
        using var scope = _g.Scope("self_attn");
        int heads = _config.NumHeads, nope = _config.QkNopeHeadDim, rope = _config.QkRopeHeadDim, v = _config.VHeadDim, latent = _config.KvLoraRank;
        var prefix = $"{layerPrefix}{TensorNames.SelfAttn}.";
        double eps = global::DesMoe.Torch.Model.LatentAttention.LatentNormEpsilon;

        // DeepSeek's attention_bias puts biases on q_a_proj, kv_a_proj_with_mqa and o_proj only.
        string Biased(string projection, string name) => _config.AttentionBias ? _g.Add(projection, _weights.Get($"{prefix}{name}.bias")) : projection;
        var queries = _config.QLoraRank > 0
            ? _g.MatMul(RmsNorm(Biased(_g.MatMul(x, _weights.Linear($"{prefix}{TensorNames.QAProj}.weight")), TensorNames.QAProj), _weights.Get($"{prefix}{TensorNames.QALayerNorm}.weight"), eps),
                _weights.Linear($"{prefix}{TensorNames.QBProj}.weight"))
            : _g.MatMul(x, _weights.Linear($"{prefix}{TensorNames.QProj}.weight"));
        var q = _g.Transpose(_g.Reshape(queries, _g.Int64s("heads_shape", 0, 0, heads, nope + rope)), 0, 2, 1, 3); // [b, h, s, nope + rope]
        var qNope = SliceLast(q, 0, nope);
        var qRope = SliceLast(q, nope, nope + rope);

        var compressed = Biased(_g.MatMul(x, _weights.Linear(prefix + "kv_a_proj_with_mqa.weight")), "kv_a_proj_with_mqa"); // [b, s, latent + rope]
        var axis1 = _g.Int64s("axes", 1);
        var newLatent = _g.Unsqueeze(RmsNorm(SliceLast(compressed, 0, latent), _weights.Get($"{prefix}{TensorNames.KvALayerNorm}.weight"), eps), axis1);
        var kRope = _g.Unsqueeze(SliceLast(compressed, latent, latent + rope), axis1); // [b, 1, s, rope]
        if (_config.RopeInterleaved)
        {
            var order = _g.Constant("deinterleave", Tensors.Int64(RotaryEmbedding.Deinterleave(rope), [rope]));
            qRope = _g.Gather(qRope, order, axis: 3);
            kRope = _g.Gather(kRope, order, axis: 3);
        }
        qRope = Rotate(qRope);
        kRope = Rotate(kRope);
        var presentLatent = _g.Concat(2, pastLatent, newLatent);
        var presentRope = _g.Concat(2, pastRope, kRope);

        // kv_b_proj.weight is [h * (nope + v), latent]: per head, nope key rows then v value rows.
        var keyAbsorb = _weights.Computed(prefix + "kv_b_proj.key_absorbed", find =>
            find(prefix + "kv_b_proj.weight").view(heads, nope + v, latent).narrow(1, 0, nope)); // [h, nope, latent]
        var valueAbsorb = _weights.Computed(prefix + "kv_b_proj.value_absorbed", find =>
            find(prefix + "kv_b_proj.weight").view(heads, nope + v, latent).narrow(1, nope, v).transpose(1, 2)); // [h, latent, v]
        var qLatent = _g.MatMul(qNope, keyAbsorb); // [b, h, s, latent]
        var scores = _g.Add(
            _g.MatMul(qLatent, _g.Transpose(presentLatent, 0, 1, 3, 2)),
            _g.MatMul(qRope, _g.Transpose(presentRope, 0, 1, 3, 2))); // [b, h, s, total]
        scores = _g.Mul(scores, _g.FloatScalar("softmax_scale", (float)_config.AttentionScale));
        var probabilities = _g.Softmax(_g.Add(scores, _additiveMask), -1);
        var context = _g.MatMul(_g.MatMul(probabilities, presentLatent), valueAbsorb); // [b, h, s, v]
        var merged = _g.Reshape(_g.Transpose(context, 0, 2, 1, 3), _g.Int64s("merged_shape", 0, 0, heads * v));
        return (Biased(_g.MatMul(merged, _weights.Linear($"{prefix}{TensorNames.OProj}.weight")), TensorNames.OProj), presentLatent, presentRope);
    }

    /// <summary>The dense prefix's feed-forward: one SwiGLU (<c>dense_layers.{d}.mlp</c>).</summary>
    private string DenseMlp(string x, string layerPrefix)
    {
        using var scope = _g.Scope("mlp");
        return SwiGlu(_g, _weights, x, layerPrefix + "mlp.");
    }

    /// <summary>[batch, heads, s, n] -> [batch, kv_heads, groups * s, n]: each kv head's query heads one after another (no copy).</summary>
    private string Grouped(string perHead) =>
        _config.NumHeads == _config.NumKvHeads ? perHead : _g.Reshape(perHead, _g.Int64s("grouped_shape", 0, _config.NumKvHeads, -1, 0));

    /// <summary>The inverse of <see cref="Grouped"/>; <paramref name="lastDim"/> 0 keeps the last dimension as it is.</summary>
    private string PerHead(string grouped, long lastDim) =>
        _config.NumHeads == _config.NumKvHeads ? grouped : _g.Reshape(grouped, _g.Int64s("per_head_shape", 0, _config.NumHeads, -1, lastDim));

    private string Moe(string x, int layer)
    {
        using var scope = _g.Scope("mlp");
        var prefix = $"{TensorNames.Layers}.{layer}.{TensorNames.Mlp}.";
        var tokens = _g.Reshape(x, _g.Int64s("tokens_shape", -1, _config.HiddenSize));
        var logits = _g.MatMul(tokens, _weights.Linear($"{prefix}{TensorNames.Router}.{TensorNames.RouterGate}.weight"));
        var copies = _slots is null ? null : DomainCopies.ForLayer(_slots[layer], _routing[layer], _config.TopK, layer, _tokenDomainRows, _rowsInBatch!);
        if (_config.AdaptiveRouterWidth > 0) logits = _g.Add(logits, AdaptiveRouterResidual(tokens, $"{prefix}{TensorNames.Router}.{TensorNames.RouterAdapter}."));
        logits = RestrictToDomain(logits, layer);
        string? keptMass = null;
        if (_config.GroupLimitedRouting) (logits, keptMass) = LimitToBestGroups(logits);
        var (_, chosen) = _g.TopK(logits, _g.Int64s("k", _config.TopK), -1);
        _g.Output(chosen, OnnxNames.RouterExperts(layer), DataType.Int64, "tokens", _config.TopK);

        string routed;
        if (_options.Experts == ExpertKernel.ContribMoe)
            routed = copies is null
                ? ContribMoeExperts.Build(_g, _weights, _config, prefix, tokens, logits)
                : ContribMoeExperts.BuildWithCopies(_g, _weights, _config, prefix, tokens, logits, copies);
        else
            routed = StandardOpsExperts.Build(_g, _weights, _config, prefix, tokens, logits, _options.Quantization, _options.QuantizedCompute, copies);
        // The kernels' softmax over the kept groups' logits divides each weight by the kept experts' probability mass;
        // unless the top-k weights are renormalised anyway, multiplying it back gives transformers' weights.
        if (keptMass is not null && !_config.NormalizeTopKProbabilities) routed = _g.Mul(routed, keptMass);
        if (_config.RoutedScale != 1.0) routed = _g.Mul(routed, _g.FloatScalar("routed_scaling_factor", (float)_config.RoutedScale));
        if (_config.NumSharedExperts > 0)
        {
            var shared = SwiGlu(_g, _weights, tokens, $"{prefix}{TensorNames.SharedExperts}.");
            if (_config.SharedExpertGate)
                shared = _g.Mul(_g.Sigmoid(_g.MatMul(tokens, _weights.Linear(prefix + TensorNames.SharedExpertGate + ".weight"))), shared);
            routed = _g.Add(routed, shared);
        }
        return _g.Reshape(routed, _g.Shape(x));
    }

    /// <summary>fc2(gelu(fc1(x))) of DES-MoE's adaptive router, with the exact (erf) GELU that TorchSharp's gelu computes.</summary>
    private string AdaptiveRouterResidual(string tokens, string prefix)
    {
        var hidden = _g.Add(_g.MatMul(tokens, _weights.Linear(prefix + "fc1.weight")), _weights.Get(prefix + "fc1.bias"));
        var erf = _g.Erf(_g.Mul(hidden, _g.FloatScalar("inverse_sqrt2", (float)(1 / Math.Sqrt(2)))));
        var gelu = _g.Mul(_g.Mul(hidden, _g.FloatScalar("half", 0.5f)), _g.Add(erf, _g.FloatScalar("one", 1f)));
        return _g.Add(_g.MatMul(gelu, _weights.Linear(prefix + "fc2.weight")), _weights.Get(prefix + "fc2.bias"));
    }

    /// <summary>
    /// DeepSeek's group-limited greedy on [tokens, experts] logits: per token, the experts outside the
    /// <c>topk_group</c> groups whose best expert is most probable get logit -inf, so both expert kernels' softmax and
    /// top-k see only the kept groups. Returns those logits and [tokens, 1] the kept experts' share of the full
    /// softmax, which the kernels' renormalised weights are multiplied by (see <see cref="Moe"/>).
    /// </summary>
    private (string Logits, string KeptMass) LimitToBestGroups(string logits)
    {
        using var scope = _g.Scope("router_groups");
        int groups = _config.RouterGroups, perGroup = _config.NumRoutedExperts / groups;
        var probabilities = _g.Softmax(logits, -1);
        var grouped = _g.Reshape(probabilities, _g.Int64s("grouped_shape", -1, groups, perGroup));
        var best = _g.ReduceMax(grouped, _g.Int64s("axes", -1), keepDims: false); // [tokens, groups]
        var (_, keptGroups) = _g.TopK(best, _g.Int64s("groups_kept", _config.RouterGroupsKept), -1);
        var ones = _g.Expand(_g.FloatScalar("one", 1f), _g.Shape(keptGroups));
        var groupMask = _g.Op("ScatterElements", [_g.ConstantOfShape(_g.Shape(best)), keptGroups, ones], Attr.Int("axis", 1));
        var expertMask = _g.Reshape(_g.Expand(_g.Unsqueeze(groupMask, _g.Int64s("axes", -1)), _g.Shape(grouped)), _g.Int64s("experts_shape", -1, _config.NumRoutedExperts));
        var limited = _g.Where(_g.Cast(expertMask, DataType.Bool), logits, _g.FloatScalar("minus_infinity", float.NegativeInfinity));
        var keptMass = _g.ReduceSum(_g.Mul(probabilities, expertMask), _g.Int64s("axes", -1), keepDims: true);
        return (limited, keptMass);
    }

    /// <summary>Sets the router logits of experts outside each token's domain to -inf (skipped where a layer's table allows everything).</summary>
    private string RestrictToDomain(string logits, int layer)
    {
        var table = _routing[layer];
        int rows = table.GetLength(0), experts = table.GetLength(1);
        if (experts != _config.NumRoutedExperts)
            throw new ArgumentException($"routing table of layer {layer} has {experts} experts but the model has {_config.NumRoutedExperts}");
        var flat = new bool[table.Length];
        int i = 0;
        foreach (var allowed in table) flat[i++] = allowed;
        if (flat.All(a => a)) return logits;
        var allowedTable = _g.Constant($"domain_routing.{layer}", Tensors.Bool(flat, [rows, experts]));
        var allowedPerToken = _g.Gather(allowedTable, _tokenDomainRows);
        return _g.Where(allowedPerToken, logits, _g.FloatScalar("minus_infinity", float.NegativeInfinity));
    }

    /// <summary>down(silu(gate(x)) * up(x)) for the SwiGLU expert whose parameters start with <paramref name="prefix"/>.</summary>
    internal static string SwiGlu(GraphBuilder g, WeightTable weights, string x, string prefix,
        ExpertQuantization quantization = ExpertQuantization.None, QuantizedCompute compute = QuantizedCompute.Float32)
    {
        string Project(string input, string name)
        {
            if (quantization == ExpertQuantization.None) return g.MatMul(input, weights.Linear(name));
            var (packed, scales, zeroPoints, q) = weights.Quantized(name, BlockQuantizer.Bits(quantization));
            return g.MatMulNBits(input, packed, scales, zeroPoints, q.K, q.N, q.Bits, q.BlockSize, BlockQuantizer.AccuracyLevel(compute));
        }
        var gate = Project(x, $"{prefix}{TensorNames.GateProj}.weight");
        var up = Project(x, $"{prefix}{TensorNames.UpProj}.weight");
        return Project(g.Mul(g.Mul(gate, g.Sigmoid(gate)), up), $"{prefix}{TensorNames.DownProj}.weight");
    }
}
