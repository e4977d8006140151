using DesMoe.Formats.Files;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Architectures;
using DesMoe.Torch.Training;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Model;

public class BundledModelTests
{
    /// <summary>The README states the string-skills model's general accuracy; this is the floor the suite holds it to.</summary>
    private const double MinimumStringSkillsAccuracy = 0.90;

    /// <summary>
    /// Plain English the base model never trained on (written for this test). docs/model.md gives its held-out losses
    /// (1.26-1.52 nats per byte on the four text sources); uniform guessing over the bytes is ln 256 = 5.55.
    /// </summary>
    private static readonly Example[] English =
    [
        new("", "The committee met on a cold morning to decide whether the old bridge should be repaired or replaced."),
        new("", "She opened the window, and the smell of rain drifted into the quiet room where the children were reading."),
        new("", "A good dictionary gives the meaning of a word, shows how it is used, and tells you where it came from."),
        new("", "The people of this nation have always believed that hard work and fair laws make a country strong."),
    ];

    [Fact]
    public void The_bundled_base_model_is_a_deepseek_v2_hub_folder_next_to_programs()
    {
        Assert.True(HubModelFolder.IsHubFolder(BundledModel.Folder));
        Assert.Contains("\"model_type\": \"deepseek_v2\"", File.ReadAllText(Path.Combine(BundledModel.Folder, "config.json")));
        using var loaded = ModelFolder.Load(BundledModel.Folder);
        var config = loaded.Config;
        Assert.Equal((32, 2, 4, 1, 4), (config.NumRoutedExperts, config.NumSharedExperts, config.NumMoeLayers, config.DenseLayers, config.TopK));
        Assert.Equal(64, config.KvLoraRank);
        Assert.Equal([104, 105], loaded.Tokenizer.Encode("hi")); // its tokenizer.json is the byte vocabulary
        Assert.InRange(new FileInfo(Path.Combine(BundledModel.Folder, ModelFiles.WeightsFileName)).Length, 8_000_000, 32_000_000);
    }

    [Fact]
    public void The_bundled_base_model_knows_english_that_the_string_skills_model_never_saw()
    {
        using var baseModel = ModelFolder.Load(BundledModel.Folder);
        using var skills = ModelFolder.Load(BundledModel.StringSkillsFolder);

        double loss = HeldOutLoss.Compute(baseModel.Model, baseModel.Tokenizer, English);
        double skillsLoss = HeldOutLoss.Compute(skills.Model, skills.Tokenizer, English);

        Assert.True(loss < 2.0, $"base model loss {loss:F3} nats per byte on plain English");
        Assert.True(loss < skillsLoss - 1.0, $"base model {loss:F3} vs string-skills model {skillsLoss:F3} nats per byte");
    }

    [Fact]
    public void The_string_skills_model_answers_its_general_held_out_set()
    {
        using var loaded = ModelFolder.Load(BundledModel.StringSkillsFolder);
        Assert.Equal(16, loaded.Config.NumRoutedExperts);
        // Same generator, training size and seed as the pretrain command, so these prompts were never trained on.
        var eval = GeneralSet.HeldOut(300);

        var result = ExactMatchEvaluator.Evaluate(loaded.Model, loaded.Tokenizer, eval);

        Assert.True(result.Accuracy >= MinimumStringSkillsAccuracy, $"general accuracy {result.Accuracy:P1} below {MinimumStringSkillsAccuracy:P0}");
    }

    [Fact]
    public void A_forward_and_backward_step_of_the_bundled_base_model_runs_on_cpu()
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
