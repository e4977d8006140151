using DesMoe.Trainer.Adaptation;
using DesMoe.Formats.Experts;
using Xunit;

namespace DesMoe.Tests.Adaptation;

public class SpecificityMatrixTests
{
    private static double[] Share(int experts, params (int Expert, double Share)[] mass)
    {
        var share = new double[experts];
        foreach (var (e, s) in mass) share[e] = s;
        return share;
    }

    [Fact]
    public void Starts_uniform_and_each_row_stays_a_distribution()
    {
        var matrix = new SpecificityMatrix(["math", "law"], numLayers: 2, numExperts: 4);
        Assert.All(Enumerable.Range(0, 4), e => Assert.Equal(0.25, matrix[1, 0, e]));

        matrix.Update(1, 0, Share(4, (0, 0.7), (3, 0.3)), rate: 0.2);

        Assert.Equal(1.0, Enumerable.Range(0, 4).Sum(e => matrix[1, 0, e]), 12);
        Assert.Equal(0.8 * 0.25 + 0.2 * 0.7, matrix[1, 0, 0], 12);
        Assert.Equal(0.25, matrix[0, 0, 0]); // other layers untouched
    }

    [Fact]
    public void A_synthetic_routing_pattern_yields_the_expected_assignment()
    {
        // math routes to experts 0 and 1, law to 2 and 3, and both use expert 4 (a general expert) equally.
        var matrix = new SpecificityMatrix(["math", "law"], numLayers: 1, numExperts: 6);
        for (int step = 0; step < 200; step++)
        {
            matrix.Update(0, 0, Share(6, (0, 0.35), (1, 0.35), (4, 0.3)), rate: 0.05);
            matrix.Update(0, 1, Share(6, (2, 0.4), (3, 0.3), (4, 0.3)), rate: 0.05);
        }

        var assignment = matrix.Assign(topP: 0.9);

        Assert.Equal([0, 1], assignment.Experts[0][0]);
        Assert.Equal([2, 3], assignment.Experts[0][1]);
        Assert.False(assignment.Allows(0, 0, 4)); // used equally by both domains: protected, nobody's own
        Assert.True(matrix.Specificity(0, 0, 0) > 1.9);
    }

    [Fact]
    public void Assignment_within_a_pool_uses_only_pool_experts_and_gives_every_one_an_owner()
    {
        // math uses 0 (outside the pool), 1 and 2; law uses 3 and 4; nobody uses pool expert 5.
        var matrix = new SpecificityMatrix(["math", "law"], numLayers: 1, numExperts: 6);
        matrix.Update(0, 0, Share(6, (0, 0.5), (1, 0.3), (2, 0.15), (5, 0.05)), rate: 1.0);
        matrix.Update(0, 1, Share(6, (3, 0.6), (4, 0.4)), rate: 1.0);

        var assignment = matrix.AssignWithin([new HashSet<int> { 1, 2, 3, 4, 5 }], topP: 0.55);

        // math's pool shares renormalise to 1 = 0.6, 2 = 0.3, 5 = 0.1: top-p 0.55 takes expert 1 only; law's takes 3.
        // 2, 4 and 5 are left over and go to whoever uses them most relative to the other domain.
        Assert.Equal([1, 2, 5], assignment.Experts[0][0]);
        Assert.Equal([3, 4], assignment.Experts[0][1]);
        Assert.DoesNotContain(0, assignment.AssignedPerLayer()[0]);
    }

    [Fact]
    public void Every_domain_keeps_at_least_one_expert_and_top_p_bounds_the_set()
    {
        var matrix = new SpecificityMatrix(["a", "b"], 1, 4);
        for (int i = 0; i < 100; i++)
        {
            matrix.Update(0, 0, Share(4, (0, 0.25), (1, 0.25), (2, 0.25), (3, 0.25)), 0.1);
            matrix.Update(0, 1, Share(4, (0, 0.25), (1, 0.25), (2, 0.25), (3, 0.25)), 0.1);
        }
        Assert.Equal(2, matrix.Assign(topP: 0.5, minSpecificity: 0.5).Experts[0][0].Length); // two experts reach p=0.5
        Assert.Equal([0], matrix.Assign(topP: 0.5, minSpecificity: 1.0).Experts[0][0]); // nothing specific: fall back to one
    }

    [Fact]
    public void Json_round_trips_and_the_table_names_every_domain()
    {
        var matrix = new SpecificityMatrix(["math", "law"], 2, 3);
        matrix.Update(1, 1, Share(3, (2, 1.0)), 0.5);
        var copy = SpecificityMatrix.FromJson(matrix.ToJson());
        Assert.Equal(matrix[1, 1, 2], copy[1, 1, 2]);
        Assert.Equal(matrix.Domains, copy.Domains);
        var table = matrix.ToTable();
        Assert.Contains("math", table);
        Assert.Contains("layer 1", table);
    }

    [Fact]
    public void Assignment_distance_counts_changed_memberships()
    {
        var a = new ExpertAssignment(["x"], 4, [[[0, 1]]]);
        var b = new ExpertAssignment(["x"], 4, [[[1, 2]]]);
        Assert.Equal(0, a.DistanceTo(a));
        Assert.Equal(2 / 3.0, a.DistanceTo(b), 12);
    }
}
