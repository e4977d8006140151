using DesMoe.Core.Config;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace DesMoe.Core.Model;

/// <summary>
/// Sparse mixture-of-experts block: each token runs through its top-k routed experts only (cost grows with k,
/// not with the number of experts), plus the always-on shared expert when configured.
/// </summary>
public sealed class MoeFeedForward : nn.Module
{
    [ComponentName(Name = "router")] private readonly TopKRouter _router;
    [ComponentName(Name = "experts")] private readonly ModuleList<SwiGluExpert> _experts;
    [ComponentName(Name = "shared_experts")] private readonly SwiGluExpert? _shared;

    public MoeFeedForward(MoeConfig config) : base(nameof(MoeFeedForward))
    {
        _router = new TopKRouter(config.HiddenSize, config.NumRoutedExperts, config.TopK, config.NormalizeTopKProbabilities);
        _experts = nn.ModuleList(Enumerable.Range(0, config.NumRoutedExperts)
            .Select(_ => new SwiGluExpert(config.HiddenSize, config.ExpertHiddenSize)).ToArray());
        if (config.NumSharedExperts > 0) _shared = new SwiGluExpert(config.HiddenSize, config.SharedExpertHiddenSize);
        RegisterComponents();
    }

    public TopKRouter Router => _router;
    public IReadOnlyList<SwiGluExpert> Experts => _experts.ToList();
    public SwiGluExpert? SharedExpert => _shared;

    /// <param name="tokens">[tokens, hidden]</param>
    /// <param name="expertOutputFilter">optional hook given (expert, token indices, weighted output) that may replace the
    /// output before it is summed; the trainer uses it to stop gradients of other domains' tokens reaching an expert</param>
    public (Tensor Output, RouterOutput Routing) Forward(Tensor tokens, ExpertOutputFilter? expertOutputFilter = null)
    {
        var routing = _router.forward(tokens);
        long k = routing.TopKIndices.shape[1];

        // Sort the (token, slot) pairs by expert once, then hand each expert one contiguous slice.
        var flatExperts = routing.TopKIndices.flatten();
        var (_, order) = flatExperts.sort(stable: true);
        var tokenOf = order.div(k, rounding_mode: RoundingMode.floor);
        var weightOf = routing.TopKWeights.flatten().index_select(0, order);
        var counts = flatExperts.bincount(null, _experts.Count).data<long>().ToArray();

        var output = zeros_like(tokens);
        long start = 0;
        for (int e = 0; e < counts.Length; e++)
        {
            long count = counts[e];
            if (count == 0) continue;
            var tokenIndices = tokenOf.narrow(0, start, count);
            var weighted = _experts[e].forward(tokens.index_select(0, tokenIndices)) * weightOf.narrow(0, start, count).unsqueeze(-1);
            if (expertOutputFilter is not null) weighted = expertOutputFilter(e, tokenIndices, weighted);
            output = output.index_add(0, tokenIndices, weighted, 1.0);
            start += count;
        }

        if (_shared is not null) output = output + _shared.forward(tokens);
        return (output, routing);
    }
}

public delegate Tensor ExpertOutputFilter(int expert, Tensor tokenIndices, Tensor weightedOutput);
