using TorchSharp;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Formats.Data;
using DesMoe.Tests.Support;
using DesMoe.Trainer.Adaptation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Adaptation;

public class MechanismTests
{
    [Fact]
    public void Distillation_term_is_zero_when_routers_agree_and_positive_when_they_differ()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var logits = randn(10, 6);
        Assert.Equal(0f, RouterDistillation.KlDivergence(logits, logits.clone()).item<float>(), 6);
        // shifting every logit by a constant leaves the distribution unchanged
        using var shift = 3.ToScalar();
        Assert.Equal(0f, RouterDistillation.KlDivergence(logits, logits.add(shift, Scalars.One)).item<float>(), 5);

        var other = randn(10, 6);
        var kl = RouterDistillation.KlDivergence(logits, other).item<float>();
        var p = logits.softmax(-1);
        var manual = (p * (p.log() - other.log_softmax(-1))).sum(-1).mean().item<float>();
        Assert.True(kl > 0);
        Assert.Equal(manual, kl, 5);
    }

    [Fact]
    public void Distillation_weight_rises_with_drift_and_relaxes_without_it()
    {
        var weight = new AdaptiveDistillationWeight(initial: 1.0, targetKl: 0.02, factor: 2, min: 0.25, max: 8);
        weight.Observe(0.05);
        Assert.Equal(2.0, weight.Value);
        weight.Observe(0.02);
        Assert.Equal(2.0, weight.Value); // inside the band: unchanged
        for (int i = 0; i < 10; i++) weight.Observe(0.0);
        Assert.Equal(0.25, weight.Value);
        for (int i = 0; i < 10; i++) weight.Observe(1.0);
        Assert.Equal(8.0, weight.Value);
    }

    [Fact]
    public void Phases_follow_the_configured_boundaries()
    {
        var schedule = PhaseSchedule.FromFractions(100, warmup: 0.2, stabilization: 0.3);
        Assert.Equal(TrainingPhase.Warmup, schedule.At(19));
        Assert.Equal(TrainingPhase.Stabilization, schedule.At(20));
        Assert.Equal(TrainingPhase.Stabilization, schedule.At(49));
        Assert.Equal(TrainingPhase.Consolidation, schedule.At(50));
        Assert.Equal(TrainingPhase.Stabilization, (schedule with { Progressive = false }).At(99));
        Assert.Throws<ArgumentException>(() => PhaseSchedule.FromFractions(100, 0.7, 0.5));
    }

    [Fact]
    public void Isolation_stops_other_domains_gradients_reaching_an_expert_but_not_the_router()
    {
        using var model = TinyModels.Create(seed: 3, config: TinyModels.Config(experts: 4, topK: 4, shared: 0));
        model.train();
        // domain 0 owns experts 0 and 1, domain 1 owns 2 and 3, in every layer
        var assignment = new ExpertAssignment(["a", "b"], 4, [[[0, 1], [2, 3]], [[0, 1], [2, 3]]]);
        using var isolation = new GradientIsolation(assignment);
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(new ByteTokenizer(), DatasetSplit.Generate(DomainCatalog.General, 4, 1), 64);
        var onlyDomainB = Filled.Int64(batch.InputIds.numel(), 1);

        var output = model.Forward(batch.InputIds, batch.AttentionMask, gradientMask: isolation.For(onlyDomainB));
        LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets).backward();

        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        foreach (var layer in new[] { 0, 1 })
        {
            Assert.Equal(0f, grads[$"layers.{layer}.mlp.experts.0.up_proj.weight"]?.abs().sum().item<float>() ?? 0f);
            Assert.Equal(0f, grads[$"layers.{layer}.mlp.experts.1.down_proj.weight"]?.abs().sum().item<float>() ?? 0f);
            Assert.True(grads[$"layers.{layer}.mlp.experts.2.up_proj.weight"]!.abs().sum().item<float>() > 0);
            Assert.True(grads[$"layers.{layer}.mlp.router.gate.weight"]!.abs().sum().item<float>() > 0);
        }
    }

    private static Dictionary<string, Tensor> Snapshot(TorchSharp.torch.nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static (List<string> Changed, List<string> Same) Compare(Dictionary<string, Tensor> before, TorchSharp.torch.nn.Module model)
    {
        var after = model.state_dict();
        var changed = before.Keys.Where(k => !before[k].equal(after[k]).all().item<bool>()).ToList();
        return (changed, before.Keys.Except(changed).ToList());
    }

    private static IReadOnlyList<IReadOnlyList<Example>> Sets(params string[] domains) =>
        domains.Select(d => DatasetSplit.Generate(DomainCatalog.Get(d), 64, 1)).ToList();

    [Fact]
    public void Consolidation_trains_only_the_domains_experts_and_leaves_router_and_backbone_bit_identical()
    {
        using var model = TinyModels.Create(seed: 5, config: TinyModels.Config(experts: 6, topK: 2));
        // No warm-up or stabilization: straight into consolidation with the blank (uniform) matrix, where every expert
        // is at the row's best, so phi puts all of them in every domain's S_d.
        var options = new AdaptationOptions { Steps = 4, BatchSize = 8, WarmupFraction = 0, StabilizationFraction = 0, LearningRate = 1e-2 };
        var trainer = new AdaptationTrainer(model, new ByteTokenizer(), options);
        Dictionary<string, Tensor>? before = null;
        trainer.Log += line => before ??= line.Contains("adaptive router") ? Snapshot(model) : null;

        var run = trainer.Run(["math", "law"], Sets("math", "law"));

        Assert.Equal([0, 1, 2, 3, 4, 5], run.Assignment!.Experts[0][0]);
        var (changed, _) = Compare(before!, model);
        Assert.NotEmpty(changed);
        Assert.All(changed, name => Assert.Matches(@"^layers\.\d\.mlp\.experts\.\d\.", name));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Warm_up_trains_router_and_backbone_and_the_routed_experts_only_when_asked(bool warmupTrainsExperts)
    {
        using var model = TinyModels.Create(seed: 6);
        var options = new AdaptationOptions
        {
            Steps = 3, BatchSize = 8, WarmupFraction = 1.0, StabilizationFraction = 0, LearningRate = 1e-2, WarmupTrainsExperts = warmupTrainsExperts,
        };
        var trainer = new AdaptationTrainer(model, new ByteTokenizer(), options);
        Dictionary<string, Tensor>? before = null;
        trainer.Log += line => before ??= line.Contains("adaptive router") ? Snapshot(model) : null;

        trainer.Run(["math"], Sets("math"));

        var (changed, _) = Compare(before!, model);
        Assert.Contains("layers.0.mlp.router.gate.weight", changed);
        Assert.Contains("layers.0.mlp.router.adapter.fc2.weight", changed);
        Assert.Contains(changed, n => n.StartsWith("embed_tokens"));
        Assert.Contains(changed, n => n.Contains("self_attn"));
        Assert.Contains(changed, n => n.Contains("shared_experts"));
        Assert.Equal(warmupTrainsExperts, changed.Any(n => n.Contains(".mlp.experts.")));
    }

    [Fact]
    public void Domain_routed_training_changes_only_the_pool_so_the_no_domain_path_is_the_base_model_without_it()
    {
        using var model = TinyModels.Create(seed: 8, config: TinyModels.Config(experts: 8, topK: 2));
        var before = Snapshot(model);
        var general = DatasetSplit.Generate(DomainCatalog.General, 16, 2);
        var options = new AdaptationOptions
        {
            Method = AdaptationMethod.DomainRouted, Steps = 8, BatchSize = 8, WarmupFraction = 0.25, StabilizationFraction = 0.25, LearningRate = 1e-2,
            AdaptableExperts = 3, ReassignEvery = 2,
        };

        var run = new AdaptationTrainer(model, new ByteTokenizer(), options).Run(["math", "law"], Sets("math", "law"), generalReference: general);

        Assert.True(run.DomainRouted);
        var assignment = run.Assignment!;
        var pool = assignment.AssignedPerLayer();
        Assert.All(pool, layer => Assert.Equal(3, layer.Count)); // every pool expert belongs to some domain
        var (changed, _) = Compare(before, model);
        Assert.NotEmpty(changed);
        Assert.All(changed, name =>
        {
            var m = System.Text.RegularExpressions.Regex.Match(name, @"^layers\.(\d)\.mlp\.(?:experts\.(\d+)\.|router\.)");
            Assert.True(m.Success, $"{name} changed but is neither a routed expert nor a router");
            if (m.Groups[2].Success) Assert.Contains(int.Parse(m.Groups[2].Value), pool[int.Parse(m.Groups[1].Value)]);
        });
        for (int l = 0; l < 2; l++)
        {
            var rowsBefore = before[$"layers.{l}.mlp.router.gate.weight"];
            var rowsAfter = model.state_dict()[$"layers.{l}.mlp.router.gate.weight"];
            for (int e = 0; e < 8; e++)
                Assert.Equal(!pool[l].Contains(e), rowsBefore[e].equal(rowsAfter[e]).all().item<bool>());
        }

        // The no-domain path of the adapted model computes exactly what the base model computes without the pool.
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(new ByteTokenizer(), general, 64);
        using var routing = new DomainRouting(assignment.RoutingTable(2, NoDomainRouting.UnassignedExperts), 2);
        var noDomain = Filled.Int64(general.Count, ExpertAssignment.NoDomain);
        model.eval();
        var adapted = model.Forward(batch.InputIds, batch.AttentionMask, domainIds: noDomain, domainRouting: routing).Logits;
        model.load_state_dict(before);
        var original = model.Forward(batch.InputIds, batch.AttentionMask, domainIds: noDomain, domainRouting: routing).Logits;
        Assert.True(adapted.equal(original).all().item<bool>());
    }

    [Fact]
    public void Esft_trains_only_the_selected_experts()
    {
        using var model = TinyModels.Create(seed: 7, config: TinyModels.Config(experts: 8, topK: 2));
        var before = Snapshot(model);
        var options = new AdaptationOptions { Method = AdaptationMethod.Esft, Steps = 3, BatchSize = 8, LearningRate = 1e-2, EsftTopP = 0.3 };

        var run = new AdaptationTrainer(model, new ByteTokenizer(), options).Run(["code"], Sets("code"));

        var selected = run.Assignment!.AssignedPerLayer();
        Assert.All(selected, s => Assert.InRange(s.Count, 1, 7));
        var (changed, _) = Compare(before, model);
        Assert.NotEmpty(changed);
        Assert.All(changed, name =>
        {
            var m = System.Text.RegularExpressions.Regex.Match(name, @"^layers\.(\d)\.mlp\.experts\.(\d+)\.");
            Assert.True(m.Success, $"{name} changed but is not a routed expert");
            Assert.Contains(int.Parse(m.Groups[2].Value), selected[int.Parse(m.Groups[1].Value)]);
        });
    }

    [Fact]
    public void Esft_mixed_trains_the_union_of_each_domains_own_selection()
    {
        using var model = TinyModels.Create(seed: 7, config: TinyModels.Config(experts: 8, topK: 2));
        var before = Snapshot(model);
        var options = new AdaptationOptions { Method = AdaptationMethod.Esft, Steps = 3, BatchSize = 8, LearningRate = 1e-2, EsftTopP = 0.3 };
        var single = Enumerable.Range(0, 2).Select(i =>
        {
            using var copy = TinyModels.Create(seed: 7, config: TinyModels.Config(experts: 8, topK: 2));
            var domain = i == 0 ? "code" : "math";
            return new AdaptationTrainer(copy, new ByteTokenizer(), options with { Steps = 1 }).Run([domain], Sets(domain)).Assignment!.AssignedPerLayer();
        }).ToList();

        var run = new AdaptationTrainer(model, new ByteTokenizer(), options).Run(["code", "math"], Sets("code", "math"));

        var union = run.Assignment!.AssignedPerLayer();
        for (int l = 0; l < union.Count; l++) Assert.Equal(single[0][l].Union(single[1][l]).Order(), union[l].Order());
        var (changed, _) = Compare(before, model);
        Assert.NotEmpty(changed);
        Assert.All(changed, name =>
        {
            var m = System.Text.RegularExpressions.Regex.Match(name, @"^layers\.(\d)\.mlp\.experts\.(\d+)\.");
            Assert.True(m.Success, $"{name} changed but is not a routed expert");
            Assert.Contains(int.Parse(m.Groups[2].Value), union[int.Parse(m.Groups[1].Value)]);
        });
    }

    [Fact]
    public void Esft_with_the_adaptive_router_trains_the_router_beside_the_selected_experts_and_nothing_else()
    {
        using var model = TinyModels.Create(seed: 7, config: TinyModels.Config(experts: 8, topK: 2));
        var before = Snapshot(model);
        var options = new AdaptationOptions { Method = AdaptationMethod.Esft, EsftAdaptiveRouter = true, Steps = 3, BatchSize = 8, LearningRate = 1e-2, EsftTopP = 0.3 };

        var run = new AdaptationTrainer(model, new ByteTokenizer(), options).Run(["code", "math"], Sets("code", "math"));

        Assert.Equal(options.AdaptiveRouterWidthFactor * model.Config.HiddenSize, model.Config.AdaptiveRouterWidth);
        var selected = run.Assignment!.AssignedPerLayer();
        var (changed, _) = Compare(before, model);
        Assert.Contains(changed, n => n.EndsWith(".mlp.router.gate.weight"));
        Assert.All(changed, name =>
        {
            if (name.Contains(".mlp.router.")) return;
            var m = System.Text.RegularExpressions.Regex.Match(name, @"^layers\.(\d)\.mlp\.experts\.(\d+)\.");
            Assert.True(m.Success, $"{name} changed but is neither the router nor a routed expert");
            Assert.Contains(int.Parse(m.Groups[2].Value), selected[int.Parse(m.Groups[1].Value)]);
        });
        // The residual MLP started at zero output and trained: its last projection is no longer all zero.
        var outputs = model.state_dict().Where(kv => kv.Key.Contains($".router.{DesMoe.Formats.Architectures.TensorNames.RouterAdapter}.fc2.weight")).ToList();
        Assert.Equal(model.Config.NumMoeLayers, outputs.Count);
        Assert.All(outputs, kv => Assert.True(kv.Value.abs().sum().item<float>() > 0, $"{kv.Key} never trained"));
    }

    [Fact]
    public void Bad_runs_are_refused_with_a_clear_message()
    {
        using var model = TinyModels.Create();
        var trainer = new AdaptationTrainer(model, new ByteTokenizer(), new AdaptationOptions { Steps = 1 });
        Assert.Contains("domain 'law' has no training examples",
            Assert.Throws<ArgumentException>(() => trainer.Run(["math", "law"], [Sets("math")[0], []])).Message);


        var noReference = new AdaptationTrainer(model, new ByteTokenizer(), new AdaptationOptions { Method = AdaptationMethod.DomainRouted, Steps = 1 });
        Assert.Contains("needs general reference examples", Assert.Throws<ArgumentException>(() => noReference.Run(["math"], Sets("math"))).Message);
        var tooMany = new AdaptationTrainer(model, new ByteTokenizer(), new AdaptationOptions { Method = AdaptationMethod.DomainRouted, Steps = 1, AdaptableExperts = 5 });
        Assert.Contains("5 adaptable experts per layer would leave the no-domain path fewer than top-k (2)",
            Assert.Throws<ArgumentException>(() => tooMany.Run(["math"], Sets("math"), generalReference: Sets("general")[0])).Message);

        var bad = new AdaptationTrainer(model, new ByteTokenizer(), new AdaptationOptions { Steps = 0, AssignmentTopP = 2 });
        var error = Assert.Throws<ArgumentException>(() => bad.Run(["math"], Sets("math"))).Message;
        Assert.Contains("steps must be positive", error);
        Assert.Contains("assignment top-p must be in (0, 1]", error);
    }
}
