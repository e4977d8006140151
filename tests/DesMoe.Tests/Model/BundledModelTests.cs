using DesMoe.Core.Checkpoints;
using DesMoe.Core.Data;
using DesMoe.Core.Evaluation;
using DesMoe.Core.Tokenization;
using DesMoe.Core.Training;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Model;

public class BundledModelTests
{
    /// <summary>The README states the bundled model's general accuracy; this is the floor the suite holds it to.</summary>
    private const double MinimumGeneralAccuracy = 0.90;

    [Fact]
    public void The_bundled_model_is_copied_next_to_programs_and_loads()
    {
        using var loaded = ModelFolder.Load(BundledModel.Folder);
        Assert.IsType<ByteTokenizer>(loaded.Tokenizer);
        Assert.Equal(16, loaded.Config.NumRoutedExperts);
        Assert.InRange(new FileInfo(Path.Combine(BundledModel.Folder, ModelFolder.WeightsFileName)).Length, 1_000_000, 16_000_000);
    }

    [Fact]
    public void The_bundled_model_answers_its_general_held_out_set()
    {
        using var loaded = ModelFolder.Load(BundledModel.Folder);
        // Same generator, training size and seed as the pretrain command, so these prompts were never trained on.
        var eval = GeneralSet.HeldOut(300);

        var result = ExactMatchEvaluator.Evaluate(loaded.Model, loaded.Tokenizer, eval);

        Assert.True(result.Accuracy >= MinimumGeneralAccuracy, $"general accuracy {result.Accuracy:P1} below {MinimumGeneralAccuracy:P0}");
    }

    [Fact]
    public void A_forward_and_backward_step_of_the_bundled_model_runs_on_cpu()
    {
        using var loaded = ModelFolder.Load(BundledModel.Folder);
        loaded.Model.train();
        using var scope = NewDisposeScope();
        using var batch = SequenceBatch.Create(loaded.Tokenizer, DatasetSplit.Generate(DomainCatalog.Get("math"), 8, seed: 1), loaded.Config.MaxPositions);

        var output = loaded.Model.Forward(batch.InputIds, batch.AttentionMask);
        var loss = LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets);
        loss.backward();

        Assert.True(float.IsFinite(loss.item<float>()));
        Assert.Equal(TorchSharp.DeviceType.CPU, loss.device_type);
        Assert.Contains(loaded.Model.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
    }
}
