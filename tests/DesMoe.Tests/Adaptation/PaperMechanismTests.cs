using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Tests.Support;
using DesMoe.Trainer.Adaptation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Adaptation;

/// <summary>The paper's DES-MoE mechanisms, one at a time: adaptive router, KD schedule, expert-domain masks, phases.</summary>
public class PaperMechanismTests
{
    private static IReadOnlyList<IReadOnlyList<Example>> Sets(params string[] domains) =>
        domains.Select(d => DatasetSplit.Generate(DomainCatalog.Get(d), 64, 1)).ToList();

    [Fact]
    public void The_adaptive_router_starts_exactly_equal_to_the_pre_trained_router()
    {
        using var model = TinyModels.Create(seed: 11, TinyModels.Config(experts: 8, topK: 2));
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(new ByteTokenizer(), DatasetSplit.Generate(DomainCatalog.General, 6, 3), 64);
        var before = model.Forward(batch.InputIds, batch.AttentionMask);

        model.EnableAdaptiveRouter(4 * model.Config.HiddenSize);
        var after = model.Forward(batch.InputIds, batch.AttentionMask);

        Assert.Equal(128, model.Config.AdaptiveRouterWidth);
        Assert.True(model.Layers.All(l => l.Moe.Router.HasAdapter));
        for (int l = 0; l < before.Routing.Count; l++)
        {
            Assert.True(before.Routing[l].Logits.equal(after.Routing[l].Logits).all().item<bool>(), $"layer {l} router logits moved");
            Assert.True(before.Routing[l].TopKIndices.equal(after.Routing[l].TopKIndices).all().item<bool>(), $"layer {l} routing changed");
        }
        Assert.True(before.Logits.equal(after.Logits).all().item<bool>());
        // ...but it is a real MLP: its hidden layer is random, and once its output layer moves, so do the logits.
        var adapter = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.True(adapter["layers.0.mlp.router.adapter.fc1.weight"].abs().sum().item<float>() > 0);
        using (no_grad()) adapter["layers.0.mlp.router.adapter.fc2.bias"].fill_(Scalars.One);
        var moved = model.Forward(batch.InputIds, batch.AttentionMask);
        Assert.False(before.Routing[0].Logits.equal(moved.Routing[0].Logits).all().item<bool>());
    }

    [Fact]
    public void The_distillation_weight_decays_linearly_to_zero_and_the_kd_term_uses_the_temperature()
    {
        var lambda = new LinearDistillationWeight(1.0, TotalSteps: 200);
        Assert.Equal(1.0, lambda.At(0));
        Assert.Equal(0.75, lambda.At(50), 12);
        Assert.Equal(0.5, lambda.At(100), 12);
        Assert.Equal(0.0, lambda.At(200));
        Assert.Equal(0.0, lambda.At(250));
        Assert.Equal(0.25, new LinearDistillationWeight(0.5, 100).At(50), 12);

        using var scope = NewDisposeScope();
        manual_seed(2);
        var teacher = randn(12, 6);
        var student = randn(12, 6);
        using var tau = 0.7.ToScalar();
        var p = teacher.div(tau).softmax(-1);
        var manual = (p * (p.log() - student.div(tau).log_softmax(-1))).sum(-1).mean().item<float>();
        Assert.Equal(manual, RouterDistillation.KlDivergence(teacher, student, temperature: 0.7).item<float>(), 5);
        Assert.NotEqual(manual, RouterDistillation.KlDivergence(teacher, student).item<float>(), 3);
    }

    /// <summary>Routing outputs where each token of domain d picks the given experts (top-2).</summary>
    private static RouterOutput Routing(long[][] choices)
    {
        var indices = tensor(choices.SelectMany(c => c).ToArray(), [choices.Length, choices[0].Length]);
        var inputs = zeros(choices.Length, 4);
        return new RouterOutput(inputs, zeros(choices.Length, 6), zeros(choices.Length, 6), indices, zeros(choices.Length, choices[0].Length));
    }

    [Fact]
    public void The_phi_threshold_mask_follows_the_routing_and_refreshes_with_momentum()
    {
        using var scope = NewDisposeScope();
        var matrix = new SpecificityMatrix(["a", "b"], numLayers: 1, numExperts: 6);
        var window = new ExpertUsageWindow(1, 2, 6);
        // Domain a: 4 tokens choosing {0,1}, {0,1}, {0,2}, {0,2} -> shares 0: 1/2, 1: 1/4, 2: 1/4. Domain b: {3,4} x 4.
        // The last token is padding and must not count.
        var routing = Routing([[0, 1], [0, 1], [0, 2], [0, 2], [3, 4], [3, 4], [3, 4], [3, 4], [5, 5]]);
        var domains = tensor(new long[] { 0, 0, 0, 0, 1, 1, 1, 1, 1 });
        var real = tensor(new[] { true, true, true, true, true, true, true, true, false });

        window.Add([routing], domains, real);
        window.FlushInto(matrix, momentum: 0.9);

        Assert.Equal(0.5, matrix[0, 0, 0], 12);
        Assert.Equal(0.25, matrix[0, 0, 1], 12);
        Assert.Equal(0.0, matrix[0, 1, 5], 12);
        Assert.True(window.IsEmpty);
        // phi = 0.6: experts at >= 0.6 x the row's best (0.5 -> 0.3): a keeps only 0; b keeps 3 and 4 (tied best).
        var mask = matrix.AssignByThreshold(0.6);
        Assert.Equal([0], mask.Experts[0][0]);
        Assert.Equal([3, 4], mask.Experts[0][1]);
        Assert.Equal([0, 1, 2], matrix.AssignByThreshold(0.5).Experts[0][0]);

        // Second window: a now uses 1 and 2 only. A = 0.9 * new + 0.1 * old.
        window.Add([Routing([[1, 2], [1, 2]])], tensor(new long[] { 0, 0 }), tensor(new[] { true, true }));
        window.FlushInto(matrix, momentum: 0.9);
        Assert.Equal(0.1 * 0.5, matrix[0, 0, 0], 12);
        Assert.Equal(0.9 * 0.5 + 0.1 * 0.25, matrix[0, 0, 1], 12);
        Assert.Equal(0.5, matrix[0, 1, 3], 12); // b saw no tokens: its row is kept, not decayed
        Assert.Equal([1, 2], matrix.AssignByThreshold(0.6).Experts[0][0]);
    }

    [Fact]
    public void In_a_mixed_batch_an_expert_gets_gradient_only_from_its_own_domains_tokens()
    {
        // Every token reaches every expert (top-k = experts), so without masks every expert learns from both rows.
        using var model = TinyModels.Create(seed: 12, TinyModels.Config(experts: 4, topK: 4, shared: 0));
        model.train();
        var examples = DatasetSplit.Generate(DomainCatalog.Get("math"), 2, 5);
        examples = [examples[0], examples[0]]; // two identical rows: any difference in gradient comes from the masks
        var assignment = new ExpertAssignment(["a", "b"], 4, [[[0, 1], [2, 3]], [[0, 1], [2, 3]]]);
        using var isolation = new GradientIsolation(assignment);

        Dictionary<string, Tensor> Gradients(long rowOneDomain, bool onlyRowZero)
        {
            foreach (var p in model.parameters()) p.grad = null;
            using var batch = SequenceBatch.Create(new ByteTokenizer(), examples, 64);
            long seq = batch.InputIds.shape[1];
            var tokenDomains = cat([Filled.Int64(seq, 0), Filled.Int64(seq, rowOneDomain)]);
            var output = model.Forward(batch.InputIds, batch.AttentionMask, gradientMask: isolation.For(tokenDomains));
            var perToken = nn.functional.cross_entropy(output.Logits.view(-1, output.Logits.shape[^1]), batch.Targets.view(-1),
                ignore_index: SequenceBatch.IgnoreIndex, reduction: nn.Reduction.None).view(2, -1);
            (onlyRowZero ? perToken[0] : perToken).sum().backward();
            return model.named_parameters().Where(p => p.parameter.grad is not null)
                .ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone());
        }

        using var scope = NewDisposeScope();
        var mixed = Gradients(rowOneDomain: 1, onlyRowZero: false);  // row 0 is domain a, row 1 domain b
        var aAlone = Gradients(rowOneDomain: 1, onlyRowZero: true);  // only domain a's tokens' loss
        var bothA = Gradients(rowOneDomain: 0, onlyRowZero: false);  // both rows domain a

        foreach (var layer in new[] { 0, 1 })
        {
            // Domain a's experts learn from row 0 only: exactly what row 0's loss alone gives them.
            var name = $"layers.{layer}.mlp.experts.0.up_proj.weight";
            Assert.True(mixed[name].allclose(aAlone[name], rtol: 1e-4, atol: 1e-6), $"{name}: domain b's tokens reached domain a's expert");
            Assert.False(mixed[name].allclose(bothA[name], rtol: 1e-3, atol: 1e-6), $"{name}: the mask did nothing");
            // The router still learns from every token.
            var router = $"layers.{layer}.mlp.router.gate.weight";
            Assert.False(mixed[router].allclose(aAlone[router], rtol: 1e-3, atol: 1e-6));
        }
    }

    [Fact]
    public void An_expert_two_domains_share_trains_on_both_and_stays_reachable_by_the_router()
    {
        // Joint ownership (our alternative to the paper's duplication): an expert over phi for both rows is in both S_d.
        var matrix = new SpecificityMatrix(["a", "b"], 1, 4);
        matrix.Update(0, 0, [0.5, 0.4, 0.05, 0.05], rate: 1);
        matrix.Update(0, 1, [0.05, 0.45, 0.45, 0.05], rate: 1);
        var mask = matrix.AssignByThreshold(0.6);
        Assert.Equal([0, 1], mask.Experts[0][0]);
        Assert.Equal([1, 2], mask.Experts[0][1]);
        Assert.True(mask.Allows(0, 0, 1) && mask.Allows(0, 1, 1));
        // No routing table restricts a DES-MoE model: the router can pick expert 1 for any token, labelled or not.
        Assert.Empty(mask.RoutedDomains);
        Assert.Empty(mask.ExclusiveDomains);

        using var model = TinyModels.Create(seed: 13, TinyModels.Config(experts: 4, topK: 4, shared: 0));
        model.train();
        using var isolation = new GradientIsolation(new ExpertAssignment(["a", "b"], 4, [mask.Experts[0], mask.Experts[0]]));
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(new ByteTokenizer(), DatasetSplit.Generate(DomainCatalog.General, 2, 1), 64);
        foreach (long domain in new long[] { 0, 1 })
        {
            foreach (var p in model.parameters()) p.grad = null;
            var tokens = Filled.Int64(batch.InputIds.numel(), domain);
            var output = model.Forward(batch.InputIds, batch.AttentionMask, gradientMask: isolation.For(tokens));
            LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets).backward();
            var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
            Assert.True(grads["layers.0.mlp.experts.1.up_proj.weight"]!.abs().sum().item<float>() > 0, $"domain {domain} does not train the shared expert");
        }
    }

    [Fact]
    public void Each_phase_trains_the_papers_set()
    {
        using var model = TinyModels.Create(seed: 14, TinyModels.Config(experts: 6, topK: 2));
        model.EnableAdaptiveRouter(64);
        var parameters = ParameterRoles.Classify(model);
        var masks = new ExpertAssignment(["a", "b"], 6, [[[0, 1], [1, 2]], [[3], [4]]]);
        var options = new AdaptationOptions();
        List<string> Names(TrainingPhase phase, AdaptationOptions? o = null) =>
            TrainableSets.For(o ?? options, parameters, phase, masks, pool: null).Select(p => p.Name).ToList();

        var warmup = Names(TrainingPhase.Warmup);
        Assert.Contains("embed_tokens.weight", warmup);
        Assert.Contains("layers.0.self_attn.q_proj.weight", warmup);
        Assert.Contains("layers.1.mlp.router.adapter.fc1.weight", warmup);
        Assert.Contains("layers.1.mlp.shared_experts.up_proj.weight", warmup);
        Assert.DoesNotContain(warmup, n => n.Contains(".mlp.experts."));
        Assert.Contains(Names(TrainingPhase.Warmup, options with { WarmupTrainsExperts = true }), n => n.Contains(".mlp.experts.5."));
        Assert.All(Names(TrainingPhase.Warmup, options with { WarmupTrainsBackbone = false }), n => Assert.Contains(".mlp.router.", n));

        string[] Experts(List<string> names) => names.Where(n => n.Contains(".mlp.experts.") && n.EndsWith("up_proj.weight")).Order().ToArray();
        var stabilization = Names(TrainingPhase.Stabilization);
        Assert.Equal(["layers.0.mlp.experts.0.up_proj.weight", "layers.0.mlp.experts.1.up_proj.weight", "layers.0.mlp.experts.2.up_proj.weight",
            "layers.1.mlp.experts.3.up_proj.weight", "layers.1.mlp.experts.4.up_proj.weight"], Experts(stabilization));
        Assert.Contains("layers.0.mlp.router.gate.weight", stabilization);
        Assert.Contains("layers.0.mlp.router.adapter.fc2.weight", stabilization);
        Assert.DoesNotContain(stabilization, n => n.StartsWith("embed_tokens") || n.Contains("self_attn") || n.Contains("shared_experts"));

        var consolidation = Names(TrainingPhase.Consolidation);
        Assert.Equal(Experts(stabilization), Experts(consolidation));
        Assert.All(consolidation, n => Assert.Contains(".mlp.experts.", n));

        // Without masks (ablation) every routed expert is in S_d.
        Assert.Equal(12, Experts(Names(TrainingPhase.Consolidation, options with { GradientIsolation = false })).Length);
    }

    [Fact]
    public void A_des_moe_run_ends_with_a_trained_adaptive_router_masks_and_no_routing_table()
    {
        using var model = TinyModels.Create(seed: 15, TinyModels.Config(experts: 8, topK: 2));
        var options = new AdaptationOptions { Steps = 12, BatchSize = 8, LearningRate = 1e-2, MatrixRefreshEvery = 2 };
        var log = new List<string>();
        var trainer = new AdaptationTrainer(model, new ByteTokenizer(), options);
        trainer.Log += log.Add;

        var run = trainer.Run(["math", "law"], Sets("math", "law"));

        Assert.False(run.DomainRouted);
        Assert.Empty(run.Assignment!.RoutedDomains);
        Assert.Contains(log, l => l.Contains("phase Stabilization"));
        Assert.Contains(log, l => l.Contains("phase Consolidation"));
        Assert.Contains(log, l => l.Contains("expert masks set"));
        var fc2 = model.named_parameters().First(p => p.name == "layers.0.mlp.router.adapter.fc2.weight").parameter;
        Assert.True(fc2.abs().sum().item<float>() > 0, "the adaptive router's residual never trained");
        // Each S_d holds the experts at or above phi of its row's best, as the matrix says.
        Assert.Equal(run.Matrix!.AssignByThreshold(options.ExpertThreshold).ToJson(), run.Assignment.ToJson());
    }
}
