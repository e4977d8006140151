using DesMoe.Formats.Data;
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

    private static DomainAddition Addition(MoeTransformer model, int steps = 6) =>
        new(model, Tokenizer, new DomainAdditionOptions { Steps = steps, BatchSize = 4, ProfileExamples = 16 });

    [Fact]
    public void Only_the_new_copies_train_and_every_existing_parameter_stays_bit_identical()
    {
        using var model = TinyModels.Create(config: TinyModels.Config(experts: 8, topK: 2));
        var before = Snapshot(model);

        var run = Addition(model).Run(ExpertAssignment.Empty(2, 8), null, "law", Examples("law", 32));

        Assert.Equal(["law"], run.Assignment.Domains);
        Assert.Equal(2, model.Config.DomainExpertCopies);
        Assert.Equal([[8, 9], [8, 9]], run.Assignment.CopySlots["law"]);
        var after = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.All(before, kv => Assert.True(after[kv.Key].equal(kv.Value).all().item<bool>(), $"{kv.Key} changed"));
        for (int l = 0; l < 2; l++)
            for (int i = 0; i < 2; i++)
            {
                var source = $"layers.{l}.mlp.experts.{run.Assignment.Experts[l][0][i]}.down_proj.weight";
                var copy = $"layers.{l}.mlp.experts.{8 + i}.down_proj.weight";
                Assert.False(after[copy].equal(before[source]).all().item<bool>(), $"{copy} did not train away from {source}");
            }
        Assert.Equal(2L * 2 * 3 * 32 * 16, run.TrainableParameters); // layers x copies x (gate, up, down) x hidden x inner
    }

    [Fact]
    public void A_copied_domain_chooses_among_its_copied_experts_and_runs_its_copies_instead()
    {
        var assignment = ExpertAssignment.Empty(1, 6).WithCopiedDomain("law", [[4, 1]], firstSlot: 6);

        var confined = assignment.RoutingTable(topK: 2, NoDomainRouting.AllExperts)[0];
        Assert.Equal([true, true, true, true, true, true], Enumerable.Range(0, 6).Select(e => confined[0, e])); // the no-domain path is untouched
        Assert.Equal([false, true, false, false, true, false], Enumerable.Range(0, 6).Select(e => confined[1, e]));
        // Fewer copies than top-k: the row falls back to the no-domain path's choices.
        var tooFew = assignment.RoutingTable(topK: 3, NoDomainRouting.AllExperts)[0];
        Assert.All(Enumerable.Range(0, 6), e => Assert.True(tooFew[1, e]));
    }

    [Fact]
    public void An_unconfined_copied_domain_scores_experts_as_the_no_domain_path_and_runs_its_copies_instead()
    {
        var assignment = ExpertAssignment.Empty(1, 6).WithCopiedDomain("law", [[4, 1]], firstSlot: 6, confined: false);

        var routing = assignment.RoutingTable(topK: 2, NoDomainRouting.AllExperts)[0];
        var slots = assignment.SlotTable()![0];

        Assert.All(Enumerable.Range(0, 6), e => Assert.Equal(routing[0, e], routing[1, e]));
        Assert.Equal([0, 1, 2, 3, 4, 5], Enumerable.Range(0, 6).Select(e => slots[0, e]));
        Assert.Equal([0, 6, 2, 3, 7, 5], Enumerable.Range(0, 6).Select(e => slots[1, e])); // sources sorted: 1 -> 6, 4 -> 7
        Assert.Null(ExpertAssignment.Empty(1, 6).WithExclusiveDomain("math", [[0, 1]]).SlotTable());
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

        Addition(model, steps: 4).Run(ExpertAssignment.Empty(2, 8), null, "law", Examples("law", 32));

        var after = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.All(before.Keys.Where(n => n.Contains(".router.")), n => Assert.True(after[n].equal(before[n]).all().item<bool>(), $"{n} changed"));
    }

    private static readonly TorchSharp.Scalar TrainedScale = 0.1.ToScalar();

    [Fact]
    public void A_model_whose_experts_exclusive_domains_took_still_takes_a_copied_domain()
    {
        // Made before copies: no free expert is left, and the copied domain may copy only what the no-domain path routes to.
        using var model = TinyModels.Create(config: TinyModels.Config(experts: 6, topK: 2));
        var full = ExpertAssignment.Empty(2, 6).WithExclusiveDomain("math", [[0, 1], [0, 1]]).WithExclusiveDomain("law", [[2, 3], [2, 3]]);

        var run = Addition(model, steps: 2).Run(full, null, "code", Examples("code", 16));

        Assert.Equal(["math", "law", "code"], run.Assignment.Domains);
        Assert.All(run.Assignment.Experts, layer => Assert.Equal([4, 5], layer[2]));
        var back = ExpertAssignment.Parse(run.Assignment.ToJson(), 2, 6, model.Config.DomainExpertCopies);
        Assert.Equal(run.Assignment.SlotTable()!.SelectMany(t => t.Cast<long>()), back.SlotTable()!.SelectMany(t => t.Cast<long>()));
        Assert.Equal(["law", "math"], back.ExclusiveDomains.Order());
    }

    [Fact]
    public void Exclusive_domains_round_trip_and_an_overlapping_one_is_rejected()
    {
        var assignment = ExpertAssignment.Empty(1, 6).WithExclusiveDomain("intent", [[4, 5]]);
        var back = ExpertAssignment.Parse(assignment.ToJson(), 1, 6);
        Assert.Equal(["intent"], back.ExclusiveDomains);
        Assert.Equal([4, 5], back.Experts[0][0]);
        Assert.Empty(back.CopySlots);

        var overlapping = """{"domains":["a","b"],"num_experts":6,"exclusive_domains":["b"],"layers":[[{"domain":"a","experts":[1,2]},{"domain":"b","experts":[2,3]}]]}""";
        var error = Assert.Throws<InvalidDataException>(() => ExpertAssignment.Parse(overlapping, 1, 6));
        Assert.Contains("shares experts [2]", error.Message);
        Assert.Throws<ArgumentException>(() => assignment.WithExclusiveDomain("math", [[5]]));
    }

    [Fact]
    public void Copies_outside_the_models_copy_slots_are_rejected_naming_them()
    {
        var json = ExpertAssignment.Empty(1, 6).WithCopiedDomain("law", [[1, 4]], firstSlot: 6).ToJson();

        Assert.Equal([6, 7], ExpertAssignment.Parse(json, 1, 6, copySlots: 2).CopySlots["law"][0]);
        var error = Assert.Throws<InvalidDataException>(() => ExpertAssignment.Parse(json, 1, 6, copySlots: 1));
        Assert.Contains("copy slots [7]", error.Message);
    }

    [Fact]
    public void Confinement_round_trips_survives_removing_another_domain_and_names_a_domain_without_copies()
    {
        var assignment = ExpertAssignment.Empty(1, 6).WithCopiedDomain("law", [[1, 4]], firstSlot: 6)
            .WithCopiedDomain("math", [[0, 2]], firstSlot: 8, confined: false).WithCopiedDomain("code", [[3, 5]], firstSlot: 10);

        var back = ExpertAssignment.Parse(assignment.ToJson(), 1, 6, copySlots: 6);
        Assert.Equal(["code", "law"], back.ConfinedDomains.Order());
        Assert.Equal(["code"], back.WithoutCopiedDomain("law").Assignment.ConfinedDomains);

        // A version written before confinement has no list: its copied domains keep routing as the no-domain path.
        var before = ExpertAssignment.Parse(assignment.ToJson().Replace("\"confined_domains\"", "\"unused\""), 1, 6, copySlots: 6);
        Assert.Empty(before.ConfinedDomains);
        var rows = before.RoutingTable(topK: 2, NoDomainRouting.AllExperts)[0];
        Assert.All(Enumerable.Range(0, 6), e => Assert.True(rows[1, e]));

        var bad = """{"domains":["a"],"num_experts":6,"confined_domains":["a"],"layers":[[{"domain":"a","experts":[1,2]}]]}""";
        Assert.Contains("confined_domains names 'a', which has no expert copies", Assert.Throws<InvalidDataException>(() => ExpertAssignment.Parse(bad, 1, 6)).Message);
    }
}
