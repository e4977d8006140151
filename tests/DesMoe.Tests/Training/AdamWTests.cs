using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Trainer.Optimization;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Training;

public sealed class AdamWTests
{
    [Fact]
    public void Our_step_equals_TorchSharps_AdamW_bit_for_bit()
    {
        using var ours = TinyModels.Create(seed: 5);
        using var theirs = TinyModels.Create(seed: 5);
        using var optimizer = new AdamW(ours.parameters(), 3e-3, weightDecay: 0.1);
        using var reference = optim.AdamW(theirs.parameters(), 3e-3, 0.9, 0.95, 1e-8, 0.1);
        var batches = Enumerable.Range(0, 4).Select(i => DatasetSplit.Generate(DomainCatalog.General, 8, seed: i)).ToList();

        for (int step = 0; step < 6; step++)
        {
            double lr = 3e-3 * (1 - step / 10.0);
            optimizer.LearningRate = lr;
            foreach (var group in reference.ParamGroups) group.LearningRate = lr;
            TrainStep(ours, batches[step % batches.Count], optimizer.ZeroGrad, optimizer.Step);
            TrainStep(theirs, batches[step % batches.Count], reference.zero_grad, () => reference.step());
        }

        var expected = theirs.state_dict();
        foreach (var (name, value) in ours.state_dict())
            Assert.True(value.eq(expected[name]).all().item<bool>(), $"{name} differs from TorchSharp's AdamW");
    }

    [Fact]
    public void Saved_moments_continue_the_run_exactly_and_a_state_of_other_parameters_is_refused()
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "optimizer.safetensors");
        var batch = DatasetSplit.Generate(DomainCatalog.General, 8, seed: 3);

        using var uninterrupted = TinyModels.Create(seed: 9);
        using var first = new AdamW(uninterrupted.parameters(), 1e-2);
        for (int step = 0; step < 2; step++) TrainStep(uninterrupted, batch, first.ZeroGrad, first.Step);
        first.Save(path);
        using var resumed = TinyModels.Create(seed: 9);
        resumed.load_state_dict(uninterrupted.state_dict());
        using var second = new AdamW(resumed.parameters(), 1e-2);
        second.Load(path);
        TrainStep(uninterrupted, batch, first.ZeroGrad, first.Step);
        TrainStep(resumed, batch, second.ZeroGrad, second.Step);
        var expected = uninterrupted.state_dict();
        foreach (var (name, value) in resumed.state_dict()) Assert.True(value.eq(expected[name]).all().item<bool>(), name);

        using var fewer = new AdamW(resumed.parameters().Take(3), 1e-2);
        var error = Assert.Throws<InvalidDataException>(() => fewer.Load(path));
        Assert.Contains("parameters", error.Message);
    }

    private static void TrainStep(global::DesMoe.Torch.Model.MoeTransformer model, IReadOnlyList<Example> examples, Action zeroGrad, Action step)
    {
        model.train();
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(new ByteTokenizer(), examples, model.Config.MaxPositions);
        var output = model.Forward(batch.InputIds, batch.AttentionMask);
        var loss = LanguageModelLoss.WithBalance(LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets), output.BalanceLoss, 0.01);
        zeroGrad();
        loss.backward();
        step();
    }
}
