using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Torch.Model;

/// <summary>
/// Sparse mixture-of-experts block: each token runs through its top-k routed experts only (cost grows with k,
/// not with the number of experts), plus the always-on shared expert when configured.
/// </summary>
public sealed class MoeFeedForward : nn.Module
{
    [ComponentName(Name = TensorNames.Router)] private readonly TopKRouter _router;
    [ComponentName(Name = TensorNames.Experts)] private readonly ModuleList<SwiGluExpert> _experts;
    [ComponentName(Name = TensorNames.SharedExperts)] private readonly SwiGluExpert? _shared;
    [ComponentName(Name = TensorNames.SharedExpertGate)] private readonly Linear? _sharedGate;
    /// <summary>DeepSeek-V2's routed_scaling_factor; null at 1, so the other architectures' arithmetic is untouched.</summary>
    private readonly Scalar? _routedScale;


    /// <param name="weights">the dtype the routed and shared experts are held in; the router and the domains' copies, which train, are float32</param>
    public MoeFeedForward(MoeConfig config, ScalarType weights = ScalarType.Float32) : base(nameof(MoeFeedForward))
    {
        _router = new TopKRouter(config.HiddenSize, config.NumRoutedExperts, config.TopK, config.NormalizeTopKProbabilities, config.AdaptiveRouterWidth,
            RouterGroups.Of(config));
        _experts = nn.ModuleList(Enumerable.Range(0, config.ExpertSlots)
            .Select(slot => new SwiGluExpert(config.HiddenSize, config.ExpertHiddenSize, slot < config.NumRoutedExperts ? weights : ScalarType.Float32)).ToArray());
        if (config.NumSharedExperts > 0) _shared = new SwiGluExpert(config.HiddenSize, config.SharedExpertHiddenSize, weights);
        if (config.SharedExpertGate) _sharedGate = nn.Linear(config.HiddenSize, 1, hasBias: false);
        if (config.RoutedScale != 1.0) _routedScale = config.RoutedScale.ToScalar();
        RegisterComponents();
    }

    public TopKRouter Router => _router;

    /// <summary>Expert modules in this block: the routed experts, then the domains' copies.</summary>
    public int ExpertSlots => _experts.Count;

    /// <summary>Appends a copy of each routed expert in <paramref name="sources"/> as a new slot, same weights, same device.</summary>
    /// <param name="layer">this block's MoE layer index, for the error message</param>
    internal void AppendCopies(IEnumerable<int> sources, int layer)
    {
        foreach (var source in sources)
        {
            if (source < 0 || source >= _router.Weight.shape[0])
                throw new ArgumentOutOfRangeException(nameof(sources), $"layer {layer}: expert {source} is not a routed expert (0..{_router.Weight.shape[0] - 1})");
            var original = _experts[source];
            var copy = new SwiGluExpert(original.HiddenSize, original.InnerSize);
            copy.CopyWeightsFrom(original);
            // ModuleList registers its items once, when its owner registers it: a later item must be registered by hand
            // under its index to be a parameter (state_dict, optimizers, saving) like the others.
            _experts.register_module($"{_experts.Count}", copy);
            _experts.Add(copy);
        }
    }

    /// <param name="tokens">[tokens, hidden]</param>
    /// <param name="layer">this block's MoE layer index, passed to <paramref name="gradientMask"/></param>
    /// <param name="gradientMask">optional: which tokens routed to each expert may train its weights (DES-MoE's
    /// per-domain masks); every token still gets the expert's output, and the router still learns from all</param>
    /// <param name="allowedExperts">[tokens, experts] domain routing restriction, or null for the plain router</param>
    /// <param name="expertSlots">[tokens, experts] the expert slot each token runs for each expert its router picks
    /// (a domain's copies), or null to run the picked experts themselves; the routing returned names the picked experts</param>
    public (Tensor Output, RouterOutput Routing) Forward(Tensor tokens, int layer = 0, ExpertGradientMask? gradientMask = null,
        Tensor? allowedExperts = null, Tensor? expertSlots = null)
    {
        var routing = _router.Forward(tokens, allowedExperts);
        long k = routing.TopKIndices.shape[1];
        var dispatched = expertSlots is null ? routing.TopKIndices : expertSlots.gather(1, routing.TopKIndices);

        // Sort the (token, slot) pairs by expert once, then hand each expert one contiguous slice.
        var flatExperts = dispatched.flatten();
        var (_, order) = flatExperts.sort(stable: true);
        using var slotsPerToken = k.ToScalar();
        var tokenOf = order.div(slotsPerToken, rounding_mode: RoundingMode.floor);
        var weightOf = routing.TopKWeights.flatten().index_select(0, order);
        var counts = flatExperts.bincount(null, _experts.Count).data<long>().ToArray();

        var output = zeros_like(tokens);
        long start = 0;
        for (int e = 0; e < counts.Length; e++)
        {
            long count = counts[e];
            if (count == 0) continue;
            var tokenIndices = tokenOf.narrow(0, start, count);
            var weights = weightOf.narrow(0, start, count).unsqueeze(-1);
            if (gradientMask?.Allowed(layer, e, tokenIndices) is { } allowed)
                output = AddMasked(output, _experts[e], tokens, tokenIndices, weights, allowed, gradientMask.CutsHiddenState);
            else
                output = output.index_add(0, tokenIndices, _experts[e].forward(tokens.index_select(0, tokenIndices)) * weights, Scalars.OneDouble);
            start += count;
        }

        if (_routedScale is not null) output = output.mul(_routedScale);
        if (_shared is not null)
        {
            var shared = _shared.forward(tokens);
            if (_sharedGate is not null) shared = _sharedGate.Apply(tokens).sigmoid() * shared;
            output = output.add(shared, Scalars.One);
        }
        return (output, routing);
    }

    /// <summary>
    /// One expert's weighted output for its tokens when only the <paramref name="allowed"/> ones may train it: those
    /// run through the expert as usual; the others through its weights taken as constants (their gradient still
    /// reaches the hidden state), or, with <paramref name="cutsHiddenState"/>, as a constant output.
    /// </summary>
    private static Tensor AddMasked(Tensor output, SwiGluExpert expert, Tensor tokens, Tensor tokenIndices, Tensor weights, Tensor allowed, bool cutsHiddenState)
    {
        var trains = allowed.nonzero().squeeze(1);
        var masked = allowed.logical_not().nonzero().squeeze(1);
        if (trains.numel() > 0)
        {
            var rows = tokenIndices.index_select(0, trains);
            output = output.index_add(0, rows, expert.forward(tokens.index_select(0, rows)) * weights.index_select(0, trains), Scalars.OneDouble);
        }
        if (masked.numel() > 0)
        {
            var rows = tokenIndices.index_select(0, masked);
            var x = tokens.index_select(0, rows);
            Tensor y;
            if (cutsHiddenState)
                using (no_grad()) y = expert.forward(x);
            else
                y = expert.ForwardWithFrozenWeights(x);
            output = output.index_add(0, rows, y * weights.index_select(0, masked), Scalars.OneDouble);
        }
        return output;
    }
}

/// <summary>
/// Which tokens may train which expert's weights (DES-MoE's expert-domain masks, Eq. 7). A masked token still gets
/// the expert's output and still trains the router through its routing weight.
/// </summary>
/// <param name="Allowed">(MoE layer, routed expert, [n] flattened token rows routed to it) -> [n] bool, or null when all may</param>
/// <param name="CutsHiddenState">
/// false (the paper): a masked token's gradient still flows through the expert into its hidden state, only the
/// expert's parameters get none; true: the expert's output is a constant for it, which also cuts that path (the
/// earlier form, kept to measure against)
/// </param>
public sealed record ExpertGradientMask(Func<int, int, Tensor, Tensor?> Allowed, bool CutsHiddenState);

