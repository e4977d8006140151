using DesMoe.Trainer.Optimization;
using Parameter = TorchSharp.Modules.Parameter;
using DesMoe.Torch.Tensors;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Training;

/// <summary>The optimizer state the paper's masks need: what gets no gradient, or is restricted away, does not move.</summary>
public sealed class AdamWStateTests
{
    private static Parameter Random(int seed, params long[] shape)
    {
        manual_seed(seed);
        return new Parameter(randn(shape).DetachFromDisposeScope());
    }

    /// <summary>One step on loss = sum(w * target) over <paramref name="stepped"/>: each gets the gradient target.</summary>
    private static void StepOn(AdamW optimizer, Tensor target, params Parameter[] stepped)
    {
        using var scope = NewDisposeScope();
        optimizer.ZeroGrad();
        stepped.Select(p => (p * target).sum()).Aggregate((a, b) => a.add(b, Scalars.One)).backward();
        optimizer.Step();
    }

    private static bool Same(Tensor a, Tensor b) => a.eq(b).all().item<bool>();

    [Fact]
    public void A_parameter_without_a_gradient_keeps_its_value_and_moments_and_one_that_joins_late_counts_its_own_steps()
    {
        using var scope = NewDisposeScope();
        var (trained, paused, late) = (Random(1, 3, 4), Random(2, 3, 4), Random(3, 3, 4));
        using var optimizer = new AdamW([trained, paused, late], 1e-2, weightDecay: 0.1);
        var target = randn(3, 4);

        StepOn(optimizer, target, trained, paused);
        var pausedValue = paused.detach().clone();
        var pausedMoments = optimizer.MomentsOf(paused)!.Value;
        for (int step = 0; step < 3; step++) StepOn(optimizer, target, trained); // paused leaves the trainable set

        Assert.Null(paused.grad);
        Assert.True(Same(paused, pausedValue), "a parameter without a gradient moved (momentum or weight decay)");
        Assert.True(Same(optimizer.MomentsOf(paused)!.Value.ExpAvg, pausedMoments.ExpAvg) && Same(optimizer.MomentsOf(paused)!.Value.ExpAvgSq, pausedMoments.ExpAvgSq));
        Assert.Equal(4, optimizer.StepsOf(trained));
        Assert.Equal(1, optimizer.StepsOf(paused));
        Assert.Null(optimizer.MomentsOf(late));

        // The late parameter's first update is a fresh AdamW's first update (bias correction from its own step 1).
        var twin = new Parameter(late.detach().clone());
        using var fresh = new AdamW([twin], 1e-2, weightDecay: 0.1);
        StepOn(optimizer, target, trained, late);
        StepOn(fresh, target, twin);
        Assert.True(Same(late, twin));
        Assert.Equal(1, optimizer.StepsOf(late));
        Assert.Equal(5, optimizer.StepsOf(trained));
    }

    [Fact]
    public void Restricted_rows_keep_their_value_and_moments_and_the_others_step_as_plain_AdamW()
    {
        using var scope = NewDisposeScope();
        var weight = Random(4, 4, 3);
        var plain = new Parameter(weight.detach().clone());
        using var optimizer = new AdamW([weight], 1e-2);
        using var reference = new AdamW([plain], 1e-2);
        var target = randn(4, 3);

        // Two unrestricted steps give every row moments; then rows 1 and 3 are restricted away.
        for (int step = 0; step < 2; step++)
        {
            StepOn(optimizer, target, weight);
            StepOn(reference, target, plain);
        }
        var frozenRows = weight.detach().index_select(0, tensor(new long[] { 1, 3 })).clone();
        var frozenMoments = optimizer.MomentsOf(weight)!.Value.ExpAvg.index_select(0, tensor(new long[] { 1, 3 }));
        optimizer.Restrict(weight, tensor(new[] { true, false, true, false }).unsqueeze(1));
        for (int step = 0; step < 3; step++)
        {
            StepOn(optimizer, target, weight);
            StepOn(reference, target, plain);
        }

        var rows = tensor(new long[] { 1, 3 });
        Assert.True(Same(weight.detach().index_select(0, rows), frozenRows), "a restricted row moved");
        Assert.True(Same(optimizer.MomentsOf(weight)!.Value.ExpAvg.index_select(0, rows), frozenMoments), "a restricted row's moments moved");
        var free = tensor(new long[] { 0, 2 });
        Assert.True(weight.detach().index_select(0, free).allclose(plain.detach().index_select(0, free), rtol: 1e-5, atol: 1e-7),
            "an unrestricted row did not follow plain AdamW");
        Assert.Equal(5, optimizer.StepsOf(weight));

        var wrongShape = Assert.Throws<ArgumentException>(() => optimizer.Restrict(weight, ones(3, 1, dtype: ScalarType.Bool)));
        Assert.Contains("[3, 1]", wrongShape.Message);
    }

    [Fact]
    public void Saved_state_restores_counts_moments_and_element_counts()
    {
        using var temp = new Support.TempDirectory();
        using var scope = NewDisposeScope();
        var path = Path.Combine(temp.Path, "optimizer.safetensors");
        var (a, b) = (Random(5, 4, 2), Random(6, 4, 2));
        using var first = new AdamW([a, b], 1e-2);
        first.Restrict(b, tensor(new[] { true, true, false, false }).unsqueeze(1));
        var target = randn(4, 2);
        StepOn(first, target, a, b);
        StepOn(first, target, a);
        first.Save(path);

        var (a2, b2) = (new Parameter(a.detach().clone()), new Parameter(b.detach().clone()));
        using var second = new AdamW([a2, b2], 1e-2);
        second.Load(path);
        second.Restrict(b2, tensor(new[] { true, true, false, false }).unsqueeze(1));
        StepOn(first, target, a, b);
        StepOn(second, target, a2, b2);
        Assert.True(Same(a, a2) && Same(b, b2));
        Assert.Equal(first.StepsOf(b), second.StepsOf(b2));
    }
}
