using TorchSharp;
using DesMoe.Torch.Tensors;
using DesMoe.Torch.Model;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Model;

public class MoeTransformerTests
{
    [Fact]
    public void Forward_returns_logits_for_every_position_and_routing_for_every_layer()
    {
        using var model = TinyModels.Create();
        using var scope = NewDisposeScope();
        var ids = randint(0, 256, [3, 7], dtype: int64);

        var output = model.Forward(ids);

        Assert.Equal([3L, 7, 260], output.Logits.shape);
        Assert.Equal(model.Config.NumMoeLayers, output.Routing.Count);
        foreach (var r in output.Routing)
        {
            Assert.Equal([21L, 6], r.Logits.shape);
            Assert.Equal([21L, 2], r.TopKIndices.shape);
            Assert.Equal([21L, 2], r.TopKWeights.shape);
        }
        Assert.True(output.BalanceLoss.item<float>() > 0);
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(8, 3)]
    [InlineData(5, 5)]
    public void Router_picks_exactly_k_distinct_experts_per_token(int experts, int topK)
    {
        using var model = TinyModels.Create(config: TinyModels.Config(experts, topK));
        using var scope = NewDisposeScope();

        var routing = model.Forward(randint(0, 256, [2, 9], dtype: int64)).Routing;

        foreach (var r in routing)
        {
            var chosen = r.TopKIndices.data<long>().ToArray().Chunk(topK).ToList();
            Assert.Equal(18, chosen.Count);
            Assert.All(chosen, c => Assert.Equal(topK, c.Distinct().Count()));
            Assert.All(chosen, c => Assert.All(c, e => Assert.InRange(e, 0, experts - 1)));
            // renormalised weights of the chosen experts sum to one
            Assert.All(r.TopKWeights.sum(-1).data<float>().ToArray(), s => Assert.Equal(1f, s, 1e-5f));
        }
    }

    [Fact]
    public void Router_chooses_the_most_probable_experts()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 0.1f, 3f, -1f, 2f, 0.5f, 5f, 4f, 0f }, [2, 4]);

        var r = TopKRouter.FromLogits(logits, logits, 2, normalize: false);

        Assert.Equal([1L, 3, 1, 2], r.TopKIndices.data<long>().ToArray());
        var p = logits.softmax(-1);
        Assert.Equal(p[0, 1].item<float>(), r.TopKWeights[0, 0].item<float>(), 1e-6f);
    }

    [Fact]
    public void Balance_loss_is_one_and_minimal_for_uniform_routing()
    {
        using var scope = NewDisposeScope();
        const int experts = 8, k = 2, tokens = 64;
        // Uniform: equal probabilities and every expert chosen equally often.
        using var share = (1.0f / experts).ToScalar();
        using var expertCount = experts.ToScalar();
        var uniformProbs = full(tokens, experts, share);
        var roundRobin = Ranges.Of(0, tokens * k).remainder(expertCount).view(tokens, k);
        double uniform = LoadBalancingLoss.Compute(uniformProbs, roundRobin).item<float>();
        Assert.Equal(1.0, uniform, 5);

        manual_seed(3);
        for (int trial = 0; trial < 20; trial++)
        {
            using var spread = (trial % 4 + 1).ToScalar();
            var logits = (randn(tokens, experts) * spread).add(linspace(0, trial % 5, experts), Scalars.One);
            var r = TopKRouter.FromLogits(logits, logits, k, normalize: true);
            double loss = LoadBalancingLoss.Compute(r.Probabilities, r.TopKIndices).item<float>();
            Assert.True(loss >= uniform - 1e-6, $"trial {trial}: loss {loss} below uniform {uniform}");
        }

        var peaked = tensor(new float[] { 9, 8, 0, 0, 0, 0, 0, 0 }).expand(tokens, experts);
        var collapsed = TopKRouter.FromLogits(peaked, peaked, k, true);
        Assert.True(LoadBalancingLoss.Compute(collapsed.Probabilities, collapsed.TopKIndices).item<float>() > 3.5);
    }

    [Fact]
    public void Incremental_decoding_with_the_kv_cache_matches_a_full_forward_pass()
    {
        using var model = TinyModels.Create(seed: 4);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = randint(0, 256, [2, 10], dtype: int64);
        var full = model.Forward(ids).Logits;

        using var cache = new KvCache(model.Config.NumLayers);
        var prefill = model.Forward(ids.narrow(1, 0, 6), cache: cache).Logits;
        var steps = new List<Tensor> { prefill };
        for (int t = 6; t < 10; t++) steps.Add(model.Forward(ids.narrow(1, t, 1), cache: cache).Logits);
        var incremental = cat(steps, 1);

        Assert.Equal(10, cache.Length);
        Assert.True((full - incremental).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void Left_padding_with_mask_and_positions_does_not_change_a_rows_logits()
    {
        using var model = TinyModels.Create(seed: 5);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = randint(0, 256, [1, 5], dtype: int64);
        var alone = model.Forward(ids).Logits;

        var padded = cat([tensor(new long[] { 258, 258, 258 }, [1, 3]), ids], 1);
        var mask = tensor(new[] { false, false, false, true, true, true, true, true }, [1, 8]);
        var positions = tensor(new long[] { 0, 0, 0, 0, 1, 2, 3, 4 }, [1, 8]);
        var withPadding = model.Forward(padded, mask, positions).Logits.narrow(1, 3, 5);

        Assert.True((alone - withPadding).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void Parameter_names_follow_the_hugging_face_layout()
    {
        using var model = TinyModels.Create();
        var names = model.state_dict().Keys.ToHashSet();

        Assert.Contains("embed_tokens.weight", names);
        Assert.Contains("layers.0.self_attn.q_proj.weight", names);
        Assert.Contains("layers.1.mlp.router.gate.weight", names);
        Assert.Contains("layers.1.mlp.experts.5.down_proj.weight", names);
        Assert.Contains("layers.0.mlp.shared_experts.up_proj.weight", names);
        Assert.Contains("lm_head.weight", names);
        Assert.DoesNotContain(names, n => n.Contains("rotary"));
    }

    [Fact]
    public void Cost_grows_with_top_k_not_with_the_expert_count()
    {
        // Count the expert evaluations: every token visits exactly k routed experts.
        using var model = TinyModels.Create(config: TinyModels.Config(experts: 12, topK: 2));
        using var scope = NewDisposeScope();
        int calls = 0;
        long tokensSeen = 0;
        model.Forward(randint(0, 256, [2, 8], dtype: int64), gradientMask: new((_, _, tokens) =>
        {
            calls++;
            tokensSeen += tokens.shape[0];
            return null;
        }, CutsHiddenState: false));
        Assert.Equal(2 * 16 * 2, tokensSeen); // layers * tokens * k
        Assert.InRange(calls, 1, 2 * 12);
    }
}
