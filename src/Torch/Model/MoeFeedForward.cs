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


    public MoeFeedForward(MoeConfig config) : base(nameof(MoeFeedForward))
    {
        _router = new TopKRouter(config.HiddenSize, config.NumRoutedExperts, config.TopK, config.NormalizeTopKProbabilities, config.AdaptiveRouterWidth);
        _experts = nn.ModuleList(Enumerable.Range(0, config.NumRoutedExperts)
            .Select(_ => new SwiGluExpert(config.HiddenSize, config.ExpertHiddenSize)).ToArray());
        if (config.NumSharedExperts > 0) _shared = new SwiGluExpert(config.HiddenSize, config.SharedExpertHiddenSize);
        if (config.SharedExpertGate) _sharedGate = nn.Linear(config.HiddenSize, 1, hasBias: false);
        if (config.RoutedScale != 1.0) _routedScale = config.RoutedScale.ToScalar();
        RegisterComponents();
    }

    public TopKRouter Router => _router;

    /// <param name="tokens">[tokens, hidden]</param>
    /// <param name="layer">this block's layer index, passed to <paramref name="expertOutputFilter"/></param>
    /// <param name="expertOutputFilter">optional hook over each expert's (unweighted) output for the tokens routed to it;
    /// the trainer uses it to stop gradients of other domains' tokens reaching an expert while the router still learns</param>
    /// <param name="allowedExperts">[tokens, experts] domain routing restriction, or null for the plain router</param>
    public (Tensor Output, RouterOutput Routing) Forward(Tensor tokens, int layer = 0, ExpertOutputFilter? expertOutputFilter = null,
        Tensor? allowedExperts = null)
    {
        var routing = _router.Forward(tokens, allowedExperts);
        long k = routing.TopKIndices.shape[1];

        // Sort the (token, slot) pairs by expert once, then hand each expert one contiguous slice.
        var flatExperts = routing.TopKIndices.flatten();
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
            var expertOutput = _experts[e].forward(tokens.index_select(0, tokenIndices));
            if (expertOutputFilter is not null) expertOutput = expertOutputFilter(layer, e, tokenIndices, expertOutput);
            output = output.index_add(0, tokenIndices, expertOutput * weightOf.narrow(0, start, count).unsqueeze(-1), Scalars.OneDouble);
            start += count;
        }

        if (_routedScale is not null) output = output.mul(_routedScale);
        if (_shared is not null)
        {
            var shared = _shared.forward(tokens);
            if (_sharedGate is not null) shared = _sharedGate.forward(tokens).sigmoid() * shared;
            output = output.add(shared, Scalars.One);
        }
        return (output, routing);
    }
}

/// <param name="layer">MoE layer index</param>
/// <param name="expert">routed expert index</param>
/// <param name="tokenIndices">[n] rows of the flattened [batch*seq] tokens routed to the expert</param>
/// <param name="expertOutput">[n, hidden] the expert's output for them, before the routing weight is applied</param>
public delegate Tensor ExpertOutputFilter(int layer, int expert, Tensor tokenIndices, Tensor expertOutput);
