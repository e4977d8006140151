using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Model;

public class DomainRoutingTests
{
    private static bool[,] Table(int experts, params int[][] allowedPerRow)
    {
        var table = new bool[allowedPerRow.Length, experts];
        for (int row = 0; row < allowedPerRow.Length; row++)
            foreach (var e in allowedPerRow[row]) table[row, e] = true;
        return table;
    }

    [Fact]
    public void Each_sequence_is_routed_only_to_its_domains_experts_within_one_batch()
    {
        using var model = TinyModels.Create(seed: 12, config: TinyModels.Config(experts: 6, topK: 2));
        // row 0 = no domain, row 1 = domain 0, row 2 = domain 1
        var perLayer = Table(6, [0, 1], [2, 3, 4], [4, 5]);
        using var routing = new DomainRouting([perLayer, perLayer], topK: 2);
        using var scope = NewDisposeScope();
        var ids = randint(0, 256, [3, 5], dtype: int64);
        var domains = tensor(new long[] { ExpertAssignment.NoDomain, 0, 1 });

        var output = model.Forward(ids, domainIds: domains, domainRouting: routing);

        int[][] expected = [[0, 1], [2, 3, 4], [4, 5]];
        foreach (var layer in output.Routing)
        {
            var chosen = layer.TopKIndices.data<long>().ToArray().Chunk(2).ToList(); // 15 tokens, row-major by sequence
            for (int token = 0; token < 15; token++)
                Assert.All(chosen[token], e => Assert.Contains((int)e, expected[token / 5]));
            var probabilities = layer.Probabilities.data<float>().ToArray().Chunk(6).ToList();
            for (int token = 0; token < 15; token++)
                for (int e = 0; e < 6; e++)
                    if (!expected[token / 5].Contains(e)) Assert.Equal(0f, probabilities[token][e]);
        }
    }

    [Fact]
    public void Allowing_every_expert_is_the_plain_router()
    {
        using var model = TinyModels.Create(seed: 13);
        var all = Table(6, [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]);
        using var routing = new DomainRouting([all, all], topK: 2);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = randint(0, 256, [2, 6], dtype: int64);

        var plain = model.Forward(ids).Logits;
        var routed = model.Forward(ids, domainIds: tensor(new long[] { 0, ExpertAssignment.NoDomain }), domainRouting: routing).Logits;

        Assert.True(plain.eq(routed).all().item<bool>());
    }

    [Fact]
    public void A_row_with_fewer_experts_than_top_k_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new DomainRouting([Table(4, [0, 1], [2])], topK: 2));
        Assert.Contains("layer 0, domain 0 allows 1 experts, fewer than top-k (2)", error.Message);
    }

    [Fact]
    public void Jointly_routed_domains_keep_the_no_domain_path_off_their_experts_even_with_all_experts_asked_and_after_a_reload()
    {
        // math and law share expert 2; both were adapted under domain routing.
        var trained = new ExpertAssignment(["math", "law"], 6, [[[0, 2], [1, 2]]]) { RoutedDomains = new HashSet<string> { "math", "law" } };
        var reloaded = ExpertAssignment.Parse(trained.ToJson(), numLayers: 1, numExperts: 6);
        Assert.Equal(trained.RoutedDomains.Order(), reloaded.RoutedDomains.Order());

        var table = reloaded.RoutingTable(topK: 2, NoDomainRouting.AllExperts)[0];

        bool[] Row(int row) => Enumerable.Range(0, 6).Select(e => table[row, e]).ToArray();
        Assert.Equal([false, false, false, true, true, true], Row(0));
        Assert.Equal([true, false, true, true, true, true], Row(1));
        Assert.Equal([false, true, true, true, true, true], Row(2));

        var json = System.Text.Json.Nodes.JsonNode.Parse(trained.ToJson())!;
        json["routed_domains"] = new System.Text.Json.Nodes.JsonArray("maths");
        var error = Assert.Throws<InvalidDataException>(() => ExpertAssignment.Parse(json.ToJsonString(), 1, 6));
        Assert.Contains("routed_domains names unknown domain 'maths'", error.Message);
    }

    [Fact]
    public void Assignment_routing_keeps_the_no_domain_path_on_experts_adaptation_never_changed()
    {
        // 8 experts; math owns 0,1 and law owns 2,3 in layer 0; in layer 1 they own so much that little is left
        var assignment = new ExpertAssignment(["math", "law"], 8, [[[0, 1], [2, 3]], [[0, 1, 2, 3], [4, 5, 6]]]);

        var table = assignment.RoutingTable(topK: 2);

        bool[] Row(int layer, int row) => Enumerable.Range(0, 8).Select(e => table[layer][row, e]).ToArray();
        Assert.Equal([false, false, false, false, true, true, true, true], Row(0, 0));
        Assert.Equal([true, true, false, false, true, true, true, true], Row(0, 1));
        Assert.Equal([false, false, true, true, true, true, true, true], Row(0, 2));
        Assert.Equal(Enumerable.Repeat(true, 8), Row(1, 0)); // one unassigned expert is fewer than top-k: fall back to all
        Assert.Equal([true, true, true, true, false, false, false, true], Row(1, 1));
    }
}
