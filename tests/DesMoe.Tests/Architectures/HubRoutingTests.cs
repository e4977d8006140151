using DesMoe.Tests.Reference;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

/// <summary>Routing rules the fixtures do not exercise (they use plain greedy top-k).</summary>
public class HubRoutingTests
{
    // Eight experts in four groups of two; group maxima 5, 4.0, 4.9, 4.8.
    private static readonly float[] Logits = [5f, 1f, 4.0f, 0f, 4.9f, 2f, 4.8f, 0f];

    [Fact]
    public void Group_limited_greedy_picks_only_from_the_best_groups_and_scales_the_scores()
    {
        using var scope = NewDisposeScope();
        var router = new TopKRouter(new RoutingRule(TopK: 3, Renormalize: false, Scale: 2.5, Groups: 4, GroupsKept: 2), experts: 8);

        var (weights, indices) = router.Route(tensor(Logits).unsqueeze(0));

        // Groups 0 and 2 survive, so expert 6 (4.8, the third best overall) gives way to expert 5.
        var chosen = indices[0].data<long>().ToArray();
        Assert.Equal([0L, 4L, 5L], chosen.Order());
        var probabilities = tensor(Logits).softmax(-1).data<float>().ToArray();
        var byExpert = chosen.Zip(weights[0].data<float>().ToArray()).ToDictionary(p => p.First, p => p.Second);
        foreach (var expert in chosen) Assert.Equal(2.5 * probabilities[expert], byExpert[expert], 5);
    }

    [Fact]
    public void Plain_greedy_renormalised_weights_sum_to_one()
    {
        using var scope = NewDisposeScope();
        var router = new TopKRouter(new RoutingRule(TopK: 3, Renormalize: true), experts: 8);

        var (weights, indices) = router.Route(tensor(Logits).unsqueeze(0));

        Assert.Equal([0L, 4L, 6L], indices[0].data<long>().ToArray().Order());
        Assert.Equal(1.0, weights.sum().item<float>(), 5);
    }
}
