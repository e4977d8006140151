using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Trainer.Adaptation;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Adaptation;

public class LoraTests
{
    [Fact]
    public void Projected_gradients_are_the_exact_lora_factor_gradients()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var weight = new Parameter(randn(5, 7));
        using var lora = new LowRankAdapters([weight], rank: 2, alpha: 4);
        var factors = lora.Parameters.ToList(); // A [2, 7], B [5, 2]
        using (no_grad()) factors[1].copy_(randn(5, 2)); // a B that has trained, so both factors get gradient
        lora.Apply();
        var x = randn(3, 7);
        var target = randn(3, 5);

        // Ours: backward through the merged weight, then projection.
        nn.functional.mse_loss(x.matmul(weight.t()), target).backward();
        lora.ProjectGradients();
        Assert.Null(weight.grad);

        // Reference: LoRA written out, W0 + (alpha / r) B A, differentiated by autograd.
        var a = factors[0].detach().clone().requires_grad_(true);
        var b = factors[1].detach().clone().requires_grad_(true);
        using var two = 2.0.ToScalar();
        var original = weight.detach().sub(b.detach().matmul(a.detach()).mul(two));
        var merged = original.add(b.matmul(a), two);
        nn.functional.mse_loss(x.matmul(merged.t()), target).backward();

        Assert.True(factors[0].grad!.allclose(a.grad!, rtol: 1e-5, atol: 1e-6));
        Assert.True(factors[1].grad!.allclose(b.grad!, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void A_lora_run_changes_only_attention_and_expert_matrices_by_a_low_rank_update()
    {
        using var model = TinyModels.Create(seed: 16, TinyModels.Config(experts: 4, topK: 2));
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var options = new AdaptationOptions { Method = AdaptationMethod.Lora, Steps = 4, BatchSize = 8, LearningRate = 1e-2, LoraRank = 2 };

        var run = new AdaptationTrainer(model, new ByteTokenizer(), options).Run(["math"], [DatasetSplit.Generate(DomainCatalog.Get("math"), 32, 1)]);

        var after = model.state_dict();
        var changed = before.Keys.Where(k => !before[k].equal(after[k]).all().item<bool>()).ToList();
        Assert.Contains("layers.0.self_attn.q_proj.weight", changed);
        Assert.Contains("layers.1.mlp.experts.3.down_proj.weight", changed);
        Assert.Contains("layers.1.mlp.shared_experts.up_proj.weight", changed);
        Assert.All(changed, n => Assert.EndsWith("proj.weight", n));
        Assert.DoesNotContain(changed, n => n.Contains("router") || n.StartsWith("embed_tokens") || n.StartsWith("lm_head"));
        foreach (var name in changed)
        {
            var delta = after[name].sub(before[name]);
            var singular = linalg.svdvals(delta);
            Assert.True(singular[2].item<float>() < 1e-5 * singular[0].item<float>(), $"{name}: update has rank above 2");
        }
        var targets = before.Keys.Where(n => n.EndsWith("proj.weight") && (n.Contains(".self_attn.") || n.Contains(".experts.") || n.Contains(".shared_experts."))).ToList();
        long expected = targets.Sum(n => 2 * (before[n].shape[0] + before[n].shape[1]));
        Assert.Equal(expected, run.TrainableParameters);
    }
}
