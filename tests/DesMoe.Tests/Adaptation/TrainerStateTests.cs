using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Torch.Model;
using DesMoe.Torch.Tensors;
using DesMoe.Torch.Training;
using DesMoe.Trainer.Adaptation;
using DesMoe.Trainer.Optimization;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Adaptation;

/// <summary>The trainer's state as the paper defines it (issue 27, item 1): one optimizer, masks on parameters only, locked masks from full windows.</summary>
public sealed class TrainerStateTests
{
    private static IReadOnlyList<IReadOnlyList<Example>> Sets(params string[] domains) =>
        domains.Select(d => DatasetSplit.Generate(DomainCatalog.Get(d), 64, 1)).ToList();

    // Warm-up steps 0-4 (router + backbone), stabilization 5-14 (router + S_d), consolidation 15-19 (S_d).
    private static AdaptationOptions DesMoe(int steps = 20) => AdaptationOptions.For(AdaptationMethod.DesMoe) with
    {
        Steps = steps, BatchSize = 8, LearningRate = 1e-2, WarmupFraction = 0.25, StabilizationFraction = 0.5, MatrixRefreshEvery = 5,
        LogEvery = int.MaxValue,
    };

    [Fact]
    public void One_optimizer_serves_the_run_so_a_parameter_that_trains_in_two_phases_continues_its_step_count()
    {
        using var model = TinyModels.Create(seed: 21, TinyModels.Config(experts: 6, topK: 2, shared: 1));
        var run = new AdaptationTrainer(model, new ByteTokenizer(), DesMoe()).Run(["math", "law"], Sets("math", "law"));

        // The router trains in warm-up and stabilization: 15 updates from one optimizer (a restart at stabilization
        // would leave 10, and bias correction would start over).
        Assert.Equal(15, run.UpdatesPerParameter["layers.0.mlp.router.gate.weight"]);
        Assert.Equal(5, run.UpdatesPerParameter["embed_tokens.weight"]);
        Assert.Equal(5, run.UpdatesPerParameter["lm_head.weight"]);
        // Routed experts train from stabilization on, and only in steps where a token of an owning domain reached them.
        Assert.All(run.UpdatesPerParameter.Where(kv => kv.Key.Contains(".mlp.experts.")), kv => Assert.InRange(kv.Value, 0, 15));
        Assert.Contains(run.UpdatesPerParameter, kv => kv.Key.Contains(".mlp.experts.") && kv.Value > 0);
    }

    [Fact]
    public void An_expert_only_other_domains_tokens_reach_keeps_its_weights_and_moments()
    {
        // Every token reaches every expert (top-k = experts); domain a owns experts 0-1, b owns 2-3.
        using var model = TinyModels.Create(seed: 22, TinyModels.Config(experts: 4, topK: 4, shared: 0));
        model.train();
        using var isolation = new GradientIsolation(new ExpertAssignment(["a", "b"], 4, [[[0, 1], [2, 3]], [[0, 1], [2, 3]]]));
        using var optimizer = new AdamW(model.parameters(), 1e-2);
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(new ByteTokenizer(), DatasetSplit.Generate(DomainCatalog.General, 4, 1), 64);

        void Step(long domain)
        {
            using var stepScope = NewDisposeScope();
            var output = model.Forward(batch.InputIds, batch.AttentionMask, gradientMask: isolation.For(Filled.Int64(batch.InputIds.numel(), domain)));
            OptimizerStep.Take(optimizer, LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets), gradientClip: 1.0);
        }

        Step(domain: 0); // a's tokens: experts 0-1 train and get moments
        var expert = model.named_parameters().Single(p => p.name == "layers.0.mlp.experts.0.up_proj.weight").parameter;
        var other = model.named_parameters().Single(p => p.name == "layers.0.mlp.experts.2.up_proj.weight").parameter;
        var (value, moments) = (expert.detach().clone(), optimizer.MomentsOf(expert)!.Value);
        var otherValue = other.detach().clone();
        Step(domain: 1); // only b's tokens: expert 0 is masked for all of them
        Step(domain: 1);

        Assert.True(expert.eq(value).all().item<bool>(), "a masked expert moved on its momentum");
        Assert.True(optimizer.MomentsOf(expert)!.Value.ExpAvg.eq(moments.ExpAvg).all().item<bool>(), "a masked expert's moments changed");
        Assert.Equal(1, optimizer.StepsOf(expert));
        Assert.False(other.eq(otherValue).all().item<bool>(), "b's own expert did not train");
    }

    [Fact]
    public void The_mask_stops_the_gradient_into_the_experts_parameters_and_nothing_else()
    {
        using var model = TinyModels.Create(seed: 23, TinyModels.Config(experts: 4, topK: 4, shared: 0));
        model.train();
        var assignment = new ExpertAssignment(["a", "b"], 4, [[[0, 1], [2, 3]], [[0, 1], [2, 3]]]);
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(new ByteTokenizer(), DatasetSplit.Generate(DomainCatalog.General, 4, 1), 64);
        var onlyB = Filled.Int64(batch.InputIds.numel(), 1);

        Dictionary<string, Tensor?> Gradients(ExpertGradientMask? mask)
        {
            foreach (var p in model.parameters()) p.grad = null;
            var output = model.Forward(batch.InputIds, batch.AttentionMask, gradientMask: mask);
            LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets).backward();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad?.detach().clone());
        }

        var free = Gradients(null);
        using var paper = new GradientIsolation(assignment);
        var masked = Gradients(paper.For(onlyB));
        using var cutting = new GradientIsolation(assignment, cutsHiddenState: true);
        var cut = Gradients(cutting.For(onlyB));

        // Eq. 7: a's experts get no gradient from b's tokens; everything else gets exactly the unmasked gradient,
        // including the attention and embeddings below, which still learn through a's experts.
        foreach (var layer in new[] { 0, 1 })
            Assert.Null(masked[$"layers.{layer}.mlp.experts.0.up_proj.weight"]);
        foreach (var name in new[] { "embed_tokens.weight", "layers.0.self_attn.q_proj.weight", "layers.1.mlp.experts.2.up_proj.weight", "layers.0.mlp.router.gate.weight" })
            Assert.True(masked[name]!.allclose(free[name]!, rtol: 1e-5, atol: 1e-7), $"{name}: the mask changed a gradient it should not touch");
        // The earlier form also cut that path: the layers below see a different gradient.
        Assert.False(cut["layers.0.self_attn.q_proj.weight"]!.allclose(free["layers.0.self_attn.q_proj.weight"]!, rtol: 1e-5, atol: 1e-7));
    }

    [Fact]
    public void Consolidation_locks_the_masks_of_the_last_refresh_not_of_the_window_open_when_it_begins()
    {
        // 40 steps: stabilization from 8, a refresh at 25, consolidation from 28 with a 3-step window open.
        var folder = Path.Combine(Path.GetTempPath(), "desmoe-lock-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var model = TinyModels.Create(seed: 24, TinyModels.Config(experts: 6, topK: 2, shared: 1));
            var options = DesMoe(steps: 40) with { WarmupFraction = 0.2, StabilizationFraction = 0.5, MatrixRefreshEvery = 25, CheckpointDirectory = folder, CheckpointEvery = 26 };
            var run = new AdaptationTrainer(model, new ByteTokenizer(), options).Run(["math", "law"], Sets("math", "law"));
            var afterRefresh = AdaptationCheckpoint.TryLoad(folder)!; // taken after step 25, the last refresh
            Assert.Equal(26, afterRefresh.Step);
            Assert.Equal(afterRefresh.Matrix, run.Matrix!.ToJson());
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_run_that_keeps_its_best_validation_point_ends_on_those_weights()
    {
        using var model = TinyModels.Create(seed: 25);
        // One example learnt by heart at a high rate: the validation loss on other text falls (the random model learns
        // byte statistics), then climbs as it overfits, so the best point is not the last.
        var validation = new[] { DatasetSplit.Generate(DomainCatalog.General, 64, 2) };
        var options = AdaptationOptions.For(AdaptationMethod.FullFineTuning) with
        {
            Steps = 24, BatchSize = 8, LearningRate = 0.05, WarmupLearningRateSteps = 0, ValidateEvery = 2, KeepBestValidation = true, LogEvery = int.MaxValue,
        };
        var run = new AdaptationTrainer(model, new ByteTokenizer(), options).Run(["math"], [DatasetSplit.Generate(DomainCatalog.Get("math"), 1, 1)], validationSets: validation);

        var best = run.ValidationCurve.MinBy(v => v.Loss);
        Assert.Equal(best.Step, run.BestStep);
        Assert.True(run.BestStep < options.Steps, $"best step {run.BestStep}: the test needs a run whose last point is not its best; curve {string.Join(" ", run.ValidationCurve.Select(v => $"{v.Step}:{v.Loss:F3}"))}");
        model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(new ByteTokenizer(), validation[0].Take(64).ToList(), model.Config.MaxPositions);
        double loss = LanguageModelLoss.CrossEntropy(model.Forward(batch.InputIds, batch.AttentionMask).Logits, batch.Targets).item<float>();
        Assert.Equal(best.Loss, loss, 5);
    }
}
