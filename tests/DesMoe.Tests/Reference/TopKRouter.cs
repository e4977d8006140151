using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Tests.Reference;

/// <summary>Applies a <see cref="RoutingRule"/> to router logits.</summary>
public sealed class TopKRouter
{
    private readonly RoutingRule _rule;
    private readonly int _experts;
    private readonly Scalar _scale;

    public TopKRouter(RoutingRule rule, int experts)
    {
        if (rule.TopK < 1 || rule.TopK > experts)
            throw new ArgumentException($"top-k {rule.TopK} is outside 1..{experts}", nameof(rule));
        if (rule.Groups < 1 || experts % rule.Groups != 0 || rule.GroupsKept < 1 || rule.GroupsKept > rule.Groups)
            throw new ArgumentException($"{experts} experts cannot be split into {rule.Groups} groups keeping {rule.GroupsKept}", nameof(rule));
        _rule = rule;
        _experts = experts;
        _scale = rule.Scale;
    }

    /// <param name="logits">[tokens, experts]</param>
    /// <returns>weights [tokens, k] (float32) and expert indices [tokens, k] (int64)</returns>
    public (Tensor Weights, Tensor Indices) Route(Tensor logits)
    {
        var scores = logits.to(float32).softmax(-1);
        var eligible = _rule.Groups > 1 ? KeepBestGroups(scores) : scores;
        var (weights, indices) = eligible.topk(_rule.TopK, dim: -1);
        if (_rule.Renormalize) weights = weights / weights.sum(-1, keepdim: true);
        if (_rule.Scale != 1.0) weights = weights.mul(_scale);
        return (weights, indices);
    }

    /// <summary>Zeroes the scores of experts outside the <see cref="RoutingRule.GroupsKept"/> groups with the highest maximum score.</summary>
    private Tensor KeepBestGroups(Tensor scores)
    {
        long tokens = scores.shape[0];
        var grouped = scores.view(tokens, _rule.Groups, _experts / _rule.Groups);
        var groupBest = grouped.amax([-1L]); // [tokens, groups]
        var keptGroups = groupBest.topk(_rule.GroupsKept, dim: -1).indexes;
        var groupMask = zeros_like(groupBest).scatter(1, keptGroups, ones_like(keptGroups, dtype: groupBest.dtype));
        return (grouped * groupMask.unsqueeze(-1)).view(tokens, _experts);
    }
}
