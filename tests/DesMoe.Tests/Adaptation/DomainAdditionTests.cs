using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Trainer.Adaptation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Adaptation;

public class DomainAdditionTests
{
    private static readonly ByteTokenizer Tokenizer = new();

    private static List<Example> Examples(string domain, int count) =>
        DatasetSplit.Create(DomainCatalog.Get(domain), count, 0, seed: 3).Train.ToList();

    private static Dictionary<string, Tensor> Snapshot(MoeTransformer model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Fact]
    public void Only_the_new_domains_experts_and_router_rows_change_and_no_other_row_may_route_to_them()
    {
        using var model = TinyModels.Create(config: TinyModels.Config(experts: 8, topK: 2));
        var current = ExpertAssignment.Empty(2, 8).WithExclusiveDomain("math", [[0, 1], [0, 1]]);
        var before = Snapshot(model);

        var run = new DomainAddition(model, Tokenizer, new DomainAdditionOptions { Steps = 6, BatchSize = 4, ProfileExamples = 16 })
            .Run(current, null, "law", Examples("law", 32), [new EvaluationSet(DomainCatalog.GeneralName, Examples(DomainCatalog.GeneralName, 32))]);

        Assert.Equal(["math", "law"], run.Assignment.Domains);
        Assert.Contains("law", run.Assignment.ExclusiveDomains);
        var own = run.Assignment.Experts.Select(layer => layer[1].ToHashSet()).ToList();
        Assert.All(own, experts => Assert.Equal(2, experts.Count));
        Assert.All(own, experts => Assert.DoesNotContain(0, experts)); // math's experts are protected
        foreach (var (name, parameter) in model.named_parameters())
        {
            var m = System.Text.RegularExpressions.Regex.Match(name, @"^layers\.(\d+)\.mlp\.(experts\.(\d+)|router)\.");
            bool ownExpert = m.Success && m.Groups[3].Success && own[int.Parse(m.Groups[1].Value)].Contains(int.Parse(m.Groups[3].Value));
            if (m.Success && m.Groups[2].Value == "router")
            {
                int layer = int.Parse(m.Groups[1].Value);
                for (int e = 0; e < 8; e++)
                {
                    bool same = parameter[e].equal(before[name][e]).all().item<bool>();
                    Assert.True(own[layer].Contains(e) ? !same : same, $"{name} row {e} {(same ? "unchanged" : "changed")}");
                }
            }
            else
            {
                bool same = parameter.equal(before[name]).all().item<bool>();
                Assert.True(ownExpert ? !same : same, $"{name} {(same ? "unchanged" : "changed")}");
            }
        }

        var table = run.Assignment.RoutingTable(topK: 2, NoDomainRouting.AllExperts);
        for (int l = 0; l < 2; l++)
            for (int e = 0; e < 8; e++)
            {
                Assert.Equal(own[l].Contains(e), table[l][2, e]); // law routes to its own experts only
                if (own[l].Contains(e)) Assert.False(table[l][0, e] || table[l][1, e]);
            }
        Assert.Equal([1.0], Enumerable.Range(0, 2).Select(d => Math.Round(Enumerable.Range(0, 8).Sum(e => run.Matrix[0, d, e]), 6)).Distinct().Order());
    }

    [Fact]
    public void Adding_a_domain_to_a_des_moe_model_leaves_its_adaptive_router_residual_frozen()
    {
        // The residual scores every expert for every token: training it would move every other domain's routing.
        using var model = TinyModels.Create(config: TinyModels.Config(experts: 8, topK: 2));
        model.EnableAdaptiveRouter(64);
        using (no_grad())
            foreach (var (_, p) in model.named_parameters().Where(p => p.name.Contains(".router.adapter.")))
                p.copy_(randn_like(p).mul(TrainedScale));
        var before = Snapshot(model);

        new DomainAddition(model, Tokenizer, new DomainAdditionOptions { Steps = 4, BatchSize = 4, ProfileExamples = 16 })
            .Run(ExpertAssignment.Empty(2, 8), null, "law", Examples("law", 32), [new EvaluationSet(DomainCatalog.GeneralName, Examples(DomainCatalog.GeneralName, 32))]);

        var after = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.All(before.Keys.Where(n => n.Contains(".router.adapter.")), n => Assert.True(after[n].equal(before[n]).all().item<bool>(), $"{n} changed"));
        Assert.Contains(before.Keys, n => n.EndsWith("router.gate.weight") && !after[n].equal(before[n]).all().item<bool>());
    }

    private static readonly TorchSharp.Scalar TrainedScale = 0.1.ToScalar();

    [Fact]
    public void A_model_without_free_experts_refuses_another_domain_naming_the_layer()
    {
        using var model = TinyModels.Create(config: TinyModels.Config(experts: 6, topK: 2));
        var full = ExpertAssignment.Empty(2, 6).WithExclusiveDomain("math", [[0, 1], [0, 1]]).WithExclusiveDomain("law", [[2, 3], [2, 3]]);
        var error = Assert.Throws<ArgumentException>(() =>
            new DomainAddition(model, Tokenizer, new DomainAdditionOptions { Steps = 1, ProfileExamples = 4 })
                .Run(full, null, "code", Examples("code", 8), [new EvaluationSet(DomainCatalog.GeneralName, Examples(DomainCatalog.GeneralName, 8))]));
        Assert.Contains("layer 0", error.Message);
        Assert.Contains("no room", error.Message);
    }

    [Fact]
    public void Exclusive_domains_round_trip_and_an_overlapping_one_is_rejected()
    {
        var assignment = ExpertAssignment.Empty(1, 6).WithExclusiveDomain("intent", [[4, 5]]);
        var back = ExpertAssignment.Parse(assignment.ToJson(), 1, 6);
        Assert.Equal(["intent"], back.ExclusiveDomains);
        Assert.Equal([4, 5], back.Experts[0][0]);

        var overlapping = """{"domains":["a","b"],"num_experts":6,"exclusive_domains":["b"],"layers":[[{"domain":"a","experts":[1,2]},{"domain":"b","experts":[2,3]}]]}""";
        var error = Assert.Throws<InvalidDataException>(() => ExpertAssignment.Parse(overlapping, 1, 6));
        Assert.Contains("shares experts [2]", error.Message);
        Assert.Throws<ArgumentException>(() => assignment.WithExclusiveDomain("math", [[5]]));
    }
}
