using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Experts;

namespace DesMoe.Torch.Model;

/// <summary>
/// Decoder-only MoE language model in the DeepSeekMoE family. Parameter names follow the Hugging Face layout
/// (<c>embed_tokens</c>, <c>layers.{i}.self_attn.q_proj</c>, <c>layers.{i}.mlp.experts.{e}.gate_proj</c>, ...).
/// </summary>
/// <remarks>
/// Dense layers (a <see cref="MoeConfig.DenseLayers"/> prefix, or <see cref="MoeConfig.MlpOnlyLayers"/> anywhere) are
/// <c>dense_layers.{d}</c> and <c>layers.{i}</c> are the MoE layers only, each numbered in stack order, so that
/// everything indexed by MoE layer (routing, expert masks, assignments, domain tables, router outputs) keeps one
/// index; the KV cache counts decoder layers as they are stacked.
/// </remarks>
public sealed class MoeTransformer : nn.Module
{
    /// <summary>Added to attention scores that must be ignored; finite so that fully padded rows stay NaN-free.</summary>
    public const float MaskedScore = -1e9f;
    private static readonly Scalar MaskedScoreScalar = MaskedScore.ToScalar();

    [ComponentName(Name = TensorNames.EmbedTokens)] private readonly Embedding _embed;
    [ComponentName(Name = TensorNames.DenseLayers)] private readonly ModuleList<DecoderLayer>? _denseLayers;
    [ComponentName(Name = TensorNames.Layers)] private readonly ModuleList<DecoderLayer> _layers;
    [ComponentName(Name = TensorNames.Norm)] private readonly RmsNorm _norm;
    /// <summary>Null when the config ties the output projection to the embedding, which then scores the vocabulary.</summary>
    [ComponentName(Name = TensorNames.LmHead)] private readonly Linear? _lmHead;
    /// <summary>Per decoder layer, dense or MoE and its index among its kind (<see cref="MoeConfig.LayerKinds"/>), fixed at construction.</summary>
    private readonly (bool Dense, int Index)[] _layerKinds;

    /// <param name="initializeWeights">
    /// false when a checkpoint overwrites every weight next (a hub load): skips a pass over all parameters, 9 s at
    /// 1.2 B parameters on 2 cores
    /// </param>
    /// <param name="weights">
    /// the dtype the large weights are held in (embeddings, attention, routed and shared experts, LM head): float32,
    /// or a checkpoint's bf16 / fp16 so that loading it takes no more memory than the file (<see cref="StoredWeights"/>).
    /// Norms, routers, the adaptive router and domain copies are float32 whatever this is.
    /// </param>
    public MoeTransformer(MoeConfig config, bool initializeWeights = true, ScalarType weights = ScalarType.Float32) : base(nameof(MoeTransformer))
    {
        if (!StoredWeights.CanHold(weights)) throw new ArgumentException($"weights cannot be held as {weights}; float32, bfloat16 or float16");
        Config = config.Validate();
        WeightType = weights;
        _layerKinds = config.LayerKinds();
        _embed = nn.Embedding(config.VocabSize, config.HiddenSize, dtype: weights);
        if (config.NumDenseLayers > 0)
            _denseLayers = nn.ModuleList(Enumerable.Range(0, config.NumDenseLayers).Select(_ => new DecoderLayer(config, dense: true, weights)).ToArray());
        _layers = nn.ModuleList(Enumerable.Range(0, config.NumMoeLayers).Select(_ => new DecoderLayer(config, weights: weights)).ToArray());
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEpsilon);
        if (!config.TieWordEmbeddings) _lmHead = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, dtype: weights);
        RegisterComponents();
        if (initializeWeights) InitializeWeights();
    }

    public MoeConfig Config { get; private set; }

    /// <summary>The dtype the large weights were built in (some may since be held in float32: <see cref="HoldInFloat32"/>).</summary>
    public ScalarType WeightType { get; }

    /// <summary>
    /// Holds in float32 every weight <paramref name="selected"/> names (by parameter name) that is held in a 16-bit
    /// dtype, with the layer that owns it (its bias too): what trains needs float32 updates. The layers get new
    /// parameter tensors, so call this before anything keeps references to the model's parameters (an optimizer).
    /// </summary>
    /// <returns>the number of parameters widened</returns>
    public long HoldInFloat32(Func<string, bool> selected)
    {
        var widen = named_parameters().Where(p => p.parameter.dtype != ScalarType.Float32 && selected(p.name)).Select(p => p.name).ToHashSet();
        long count = 0;
        foreach (var (name, module) in named_modules().ToList())
        {
            if (module is not (Linear or Embedding)) continue;
            var owned = module.named_parameters(recurse: false).Select(p => name.Length == 0 ? p.name : $"{name}.{p.name}").ToList();
            if (!owned.Any(widen.Contains)) continue;
            count += module.parameters(recurse: false).Sum(p => p.numel());
            module.to(ScalarType.Float32);
        }
        if (count > 0) FreedMemory.ReturnToSystem();
        return count;
    }

    /// <summary>
    /// Gives every MoE layer's router DES-MoE's adaptive residual of <paramref name="width"/> hidden units (the paper: 4d);
    /// routing is unchanged until it trains. The config then records the width, so saved folders load with it.
    /// </summary>
    public void EnableAdaptiveRouter(int width)
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"adaptive router width must be positive (got {width})");
        if (Config.AdaptiveRouterWidth > 0)
            throw new InvalidOperationException($"the model already has an adaptive router (width {Config.AdaptiveRouterWidth})");
        foreach (var layer in _layers) layer.Moe.Router.EnableAdapter(width);
        Config = Config with { AdaptiveRouterWidth = width };
    }
    /// <summary>
    /// Appends, in every MoE layer, copies of the routed experts <paramref name="sources"/>[layer] (same count in every
    /// layer) as new expert slots after the existing ones, and records them in the config so saved folders load with
    /// them. Nothing routes to a copy until a slot table sends a domain there.
    /// </summary>
    /// <returns>the first new slot</returns>
    public int AddExpertCopies(IReadOnlyList<int[]> sources)
    {
        if (sources.Count != _layers.Count) throw new ArgumentException($"{sources.Count} layers of experts to copy for a {_layers.Count}-layer model");
        int count = sources[0].Length;
        if (count == 0 || sources.Any(s => s.Length != count))
            throw new ArgumentException($"every layer must copy the same positive number of experts, got [{string.Join(", ", sources.Select(s => s.Length))}]");
        int first = Config.ExpertSlots;
        for (int l = 0; l < _layers.Count; l++) _layers[l].Moe.AppendCopies(sources[l], l);
        Config = Config with { DomainExpertCopies = Config.DomainExpertCopies + count };
        return first;
    }

    /// <summary>The MoE layers, in order (the dense layers are not among them).</summary>
    public IReadOnlyList<DecoderLayer> Layers => _layers.ToList();

    /// <param name="inputIds">[batch, seq] token ids</param>
    /// <param name="attentionMask">[batch, past+seq], nonzero for real tokens; null means no padding</param>
    /// <param name="positionIds">[batch, seq]; null means past..past+seq-1 for every row</param>
    /// <param name="cache">when given, attention reuses and extends it (incremental decoding)</param>
    /// <param name="gradientMask">see <see cref="MoeFeedForward.Forward"/></param>
    /// <param name="domainIds">[batch] each sequence's domain (<see cref="ExpertAssignment.NoDomain"/> = -1), used with <paramref name="domainRouting"/></param>
    /// <param name="domainRouting">restricts each sequence's routing to its domain's experts</param>
    public ModelOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null,
        KvCache? cache = null, ExpertGradientMask? gradientMask = null, Tensor? domainIds = null, DomainRouting? domainRouting = null)
    {
        if ((domainIds is null) != (domainRouting is null))
            throw new ArgumentException("domain ids and domain routing must be given together");
        long batch = inputIds.shape[0], seq = inputIds.shape[1], past = cache?.Length ?? 0;
        if (past + seq > Config.MaxPositions)
            throw new ArgumentException($"sequence of {past + seq} tokens exceeds max_position_embeddings ({Config.MaxPositions})");

        var keyMask = attentionMask?.to(@bool) ?? ones(batch, past + seq, dtype: @bool);
        positionIds ??= Ranges.Of(past, past + seq).unsqueeze(0).expand(batch, seq);
        var (cos, sin) = RotaryEmbedding.ForPositions(positionIds, Config);
        var additiveMask = BuildAdditiveMask(keyMask, seq, past);
        var tokenIsReal = keyMask.narrow(1, past, seq).flatten();
        var tokenDomains = domainIds?.to(int64).repeat_interleave(seq);

        var hidden = _embed.Lookup(inputIds);
        var routing = new List<RouterOutput>(_layers.Count);
        var balance = new List<Tensor>(_layers.Count);
        for (int layer = 0; layer < _layerKinds.Length; layer++)
        {
            var (dense, i) = _layerKinds[layer];
            if (dense)
            {
                hidden = _denseLayers![i].Forward(hidden, cos, sin, additiveMask, cache, layer, -1, null).Hidden;
                continue;
            }
            var allowed = domainRouting?.MaskFor(i, tokenDomains!);
            var slots = domainRouting?.SlotsFor(i, tokenDomains!);
            var (h, moeRouting) = _layers[i].Forward(hidden, cos, sin, additiveMask, cache, layer, i, gradientMask, allowed, slots);
            var r = moeRouting!;
            hidden = h;
            routing.Add(r);
            balance.Add(LoadBalancingLoss.Compute(r.Probabilities[tokenIsReal], r.TopKIndices[tokenIsReal]));
        }

        var normed = _norm.forward(hidden);
        Tensor logits;
        if (_lmHead is not null) logits = _lmHead.Apply(normed);
        else logits = StoredWeights.Linear(normed, _embed.weight!, null);
        return new ModelOutput(logits, stack(balance).mean(), routing);
    }

    /// <summary>[batch, 1, seq, past+seq]: 0 where query i may see key j (j &lt;= past+i and key j is real), <see cref="MaskedScore"/> elsewhere.</summary>
    public static Tensor BuildAdditiveMask(Tensor keyMask, long seq, long past)
    {
        long total = past + seq;
        var causal = Ranges.Of(0, total).unsqueeze(0) <= Ranges.Of(past, past + seq).unsqueeze(1);
        var allowed = causal.unsqueeze(0).unsqueeze(0) & keyMask.unsqueeze(1).unsqueeze(1);
        return zeros(allowed.shape, dtype: float32).masked_fill(allowed.logical_not(), MaskedScoreScalar);
    }

    private void InitializeWeights()
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("norm.weight")) continue; // every RMSNorm (layer, final, q/k) starts at 1
            if (name.EndsWith(".bias") && !name.Contains($".router.{TensorNames.RouterAdapter}."))
            {
                parameter.zero_();
                continue;
            }
            if (name.Contains($".router.{TensorNames.RouterAdapter}.")) continue; // initialised by AdaptiveRouterResidual (zero output)
            nn.init.normal_(parameter, 0.0, 0.02);
        }
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());
}
