using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Trainer.Optimization;
using Xunit;

namespace DesMoe.Tests.Training;

public class SequenceBatchTests
{
    [Fact]
    public void Only_completion_and_end_tokens_are_targets()
    {
        var tokenizer = new ByteTokenizer();
        using var batch = SequenceBatch.Create(tokenizer, [new Example("ab", "xy"), new Example("abcd", "z")], maxPositions: 64);

        // row 0: <b> a b <sep> x y <end> -> inputs 6 tokens, targets x y <end> at positions 3..5
        Assert.Equal([2L, 7], batch.InputIds.shape);
        var targets = batch.Targets.data<long>().ToArray();
        Assert.Equal(new long[] { -100, -100, -100, 'x', 'y', tokenizer.Special.End, -100 }, targets[..7]);
        Assert.Equal(new long[] { -100, -100, -100, -100, -100, 'z', tokenizer.Special.End }, targets[7..]);
        Assert.Equal(5, batch.TargetTokens);
        Assert.Equal(new[] { true, true, true, true, true, true, false }, batch.AttentionMask.data<bool>().ToArray()[..7]);
        Assert.Equal(tokenizer.Special.Pad, batch.InputIds[0, 6].item<long>());
    }

    [Fact]
    public void An_example_longer_than_the_context_is_rejected_with_its_length()
    {
        var error = Assert.Throws<DataFormatException>(() =>
            SequenceBatch.Create(new ByteTokenizer(), [new Example(new string('a', 100), "b")], maxPositions: 64));
        Assert.Contains("example 0 is 104 tokens long, over the model's 64 positions", error.Message);
    }

    [Fact]
    public void Learning_rate_warms_up_then_decays_to_the_floor()
    {
        var schedule = new LearningRateSchedule(1.0, WarmupSteps: 10, TotalSteps: 110, MinRatio: 0.1);
        Assert.Equal(0.1, schedule.At(0), 6);
        Assert.Equal(1.0, schedule.At(9), 6);
        Assert.Equal(0.55, schedule.At(60), 6);
        Assert.Equal(0.1, schedule.At(110), 6);
        Assert.True(schedule.At(30) > schedule.At(80));
    }
}
