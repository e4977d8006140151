using DesMoe.Tests.Reference;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

/// <summary>Each architecture against transformers 5.17's own outputs for the same checkpoint (fp32, eager attention).</summary>
public class HubParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string> Models => new(HubFixtures.Models);

    [Theory]
    [MemberData(nameof(Models))]
    public void Logits_match_the_reference(string model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var hub = HubFixtures.Load(model);

        var logits = hub.Module.Forward(HubFixtures.Expected(model, "input_ids"));

        var expected = HubFixtures.Expected(model, "logits");
        Assert.Equal(expected.shape, logits.shape);
        double diff = HubFixtures.MaxAbsDiff(logits, expected);
        output.WriteLine($"{model}: max |logit diff| = {diff:E2}");
        Assert.InRange(diff, 0, Tolerance);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Left_padded_batch_matches_the_reference_on_real_tokens(string model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var hub = HubFixtures.Load(model);
        var mask = HubFixtures.Expected(model, "padded_attention_mask");

        var logits = hub.Module.Forward(HubFixtures.Expected(model, "input_ids"), mask, HubFixtures.Expected(model, "padded_position_ids"));

        double diff = HubFixtures.MaxAbsDiff(logits, HubFixtures.Expected(model, "padded_logits"), mask);
        output.WriteLine($"{model}: max |padded logit diff| = {diff:E2}");
        Assert.InRange(diff, 0, Tolerance);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Greedy_decoding_with_the_cache_reproduces_the_reference_tokens(string model)
    {
        using var scope = NewDisposeScope();
        using var hub = HubFixtures.Load(model);
        var expected = HubFixtures.Expected(model, "greedy_output");

        var generated = GreedyDecoding.Generate(hub.Module, HubFixtures.Expected(model, "greedy_prompt"), maxNewTokens: 12);

        Assert.Equal(expected.data<long>().ToArray(), generated.data<long>().ToArray());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Greedy_decoding_a_left_padded_batch_gives_each_row_its_unbatched_continuation(string model)
    {
        using var scope = NewDisposeScope();
        using var hub = HubFixtures.Load(model);
        var prompt = HubFixtures.Expected(model, "greedy_prompt"); // [1, 17]
        const long Pad = 5;
        var shorter = prompt.narrow(1, Pad, prompt.shape[1] - Pad);
        var batch = cat([prompt, cat([zeros(1, Pad, dtype: int64), shorter], dim: 1)], dim: 0);
        var mask = ones(2, prompt.shape[1], dtype: int64);
        mask[1].narrow(0, 0, Pad).zero_();

        var generated = GreedyDecoding.Generate(hub.Module, batch, maxNewTokens: 12, attentionMask: mask);

        Assert.Equal(HubFixtures.Expected(model, "greedy_output").data<long>().ToArray(), generated[0].data<long>().ToArray());
        var alone = GreedyDecoding.Generate(hub.Module, shorter, maxNewTokens: 12);
        Assert.Equal(alone[0].narrow(0, shorter.shape[1], 12).data<long>().ToArray(), generated[1].narrow(0, prompt.shape[1], 12).data<long>().ToArray());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Incremental_decoding_through_the_cache_gives_the_full_pass_logits_with_left_padding(string model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var hub = HubFixtures.Load(model);
        var ids = HubFixtures.Expected(model, "input_ids");
        var mask = HubFixtures.Expected(model, "padded_attention_mask");
        var positions = HubFixtures.Expected(model, "padded_position_ids");
        using var cache = hub.Module.CreateCache();

        // A 9-token prefill (row 1 still mostly padding), then one token per pass. The mask alternates between the
        // new token's column and transformers' convention of the whole past + new mask.
        const long Prefill = 9;
        var pieces = new List<Tensor> { hub.Module.Forward(ids.narrow(1, 0, Prefill), mask.narrow(1, 0, Prefill), positions.narrow(1, 0, Prefill), cache) };
        for (long t = Prefill; t < ids.shape[1]; t++)
        {
            var stepMask = t % 2 == 0 ? mask.narrow(1, t, 1) : mask.narrow(1, 0, t + 1);
            pieces.Add(hub.Module.Forward(ids.narrow(1, t, 1), stepMask, positions.narrow(1, t, 1), cache));
        }
        var incremental = cat(pieces, dim: 1);

        var full = hub.Module.Forward(ids, mask, positions);
        Assert.Equal(ids.shape[1], cache.Length);
        double selfDiff = HubFixtures.MaxAbsDiff(incremental, full, mask);
        double referenceDiff = HubFixtures.MaxAbsDiff(incremental, HubFixtures.Expected(model, "padded_logits"), mask);
        output.WriteLine($"{model}: incremental vs full {selfDiff:E2}, vs reference {referenceDiff:E2}");
        Assert.InRange(selfDiff, 0, Tolerance);
        Assert.InRange(referenceDiff, 0, Tolerance);
    }
}
