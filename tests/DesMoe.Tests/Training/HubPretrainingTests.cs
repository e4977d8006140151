using System.Text;
using DesMoe.Formats.Hub;
using DesMoe.Formats.Probes;
using DesMoe.Tests.Reference;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Tokenization;
using DesMoe.Formats.Data;
using DesMoe.Tests.Architectures;
using DesMoe.Tests.Support;
using DesMoe.Trainer.Pretraining;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Training;

/// <summary>Pre-training a base model in a hub layout: the byte vocabulary as tokenizer.json, the blank model, the mixture.</summary>
public class HubPretrainingTests
{
    private static readonly string BaseConfig = Path.Combine(Repository.Root, "bench", "configs", "desmoe-v2-base.config.json");

    private static Dictionary<string, byte[]> Files(string configPath) => new()
    {
        [HubFolder.ConfigFileName] = File.ReadAllBytes(configPath),
        [GenerationConfig.FileName] = Encoding.UTF8.GetBytes(ByteTokenizerJson.GenerationConfig()),
        [HubFolder.TokenizerFileName] = Encoding.UTF8.GetBytes(ByteTokenizerJson.Write()),
    };

    [Theory]
    [InlineData("reverse hello")]
    [InlineData("Straße, Übung: 3 × 4 = 12 — ça va? 日本")]
    [InlineData("  two  spaces\nand a tab\t!")]
    public void The_byte_vocabulary_as_tokenizer_json_gives_the_byte_tokenizers_ids_and_roles(string text)
    {
        var bytes = new ByteTokenizer();
        var hub = HubTextTokenizer.ForGeneration(HubTokenizer.Parse(ByteTokenizerJson.Write(), "bytes"), [bytes.Special.End], bytes.Special.Begin,
            bytes.Special.Pad, "bytes");

        Assert.Equal(bytes.Encode(text), hub.Encode(text));
        Assert.Equal(text, hub.Decode(hub.Encode(text)));
        Assert.Equal(bytes.Special, hub.Special); // the separator is <|sep|>, not the begin token other hub tokenizers reuse
        Assert.Equal(bytes.VocabSize, hub.VocabSize);
    }

    [Fact]
    public void A_model_pretrained_from_a_hub_config_saves_in_that_layout_and_the_reference_loader_agrees()
    {
        using var dir = new TempDirectory();
        var config = dir.File("config.json");
        // The bundled recipe's architecture, made small and short for the test.
        File.WriteAllText(config, File.ReadAllText(BaseConfig).Replace("\"num_hidden_layers\": 5", "\"num_hidden_layers\": 2")
            .Replace("\"n_routed_experts\": 32", "\"n_routed_experts\": 8").Replace("\"max_position_embeddings\": 384", "\"max_position_embeddings\": 96"));
        var (model, tokenizer, origin) = HubTrainableFolder.Blank(Files(config), config);
        Assert.Equal("deepseek_v2", model.SourceModelType);
        Assert.True(model.LatentAttention);
        Assert.Equal(1, model.DenseLayers);

        var skills = DatasetSplit.Create(DomainCatalog.General, 200, 8, 3);
        var text = Enumerable.Range(0, 50).Select(i => new Example("", $"passage {i}: the quick brown fox jumps over the lazy dog.")).ToList();
        var mixture = new PretrainMixture([
            new MixtureSource("text:fox", text, text.Take(8).ToList(), 0.5, MixtureProbe.Loss),
            new MixtureSource("skills", skills.Train, skills.Eval, 0.5, MixtureProbe.ExactMatch)], tokenizer, model.MaxPositions);
        var options = new PretrainOptions { Model = model, Steps = 6, BatchSize = 4, WarmupSteps = 1, LogEvery = 3, EvalExamples = 8 };
        var saved = dir.File("base");

        var report = new Pretrainer(options, tokenizer).Run(mixture, saved, origin);

        Assert.Equal(["skills", "text:fox"], report.Sources!.Select(s => s.Source).Order());
        Assert.True(report.TokensSeen > 0);
        Assert.Equal(File.ReadAllBytes(config), File.ReadAllBytes(Path.Combine(saved, HubFolder.ConfigFileName)));
        Assert.True(File.Exists(Path.Combine(saved, PretrainReport.FileName)));
        // The general probes later stages are gated on: the text's held-out passages; the skills, which six steps do not
        // teach, are no probe.
        var probes = ProbeFolder.Read(saved);
        Assert.NotNull(probes);
        Assert.Equal(["text:fox"], probes.Probes.Select(p => p.Name));
        Assert.Equal(text.Take(8), probes.Probes[0].Examples);
        Assert.Equal("desmoe pretrain", probes.MadeBy);
        using var loaded = ModelFolder.Load(saved);
        Assert.IsType<HubTextTokenizer>(loaded.Tokenizer);
        Assert.Equal(new ByteTokenizer().Special, loaded.Tokenizer.Special);
        using var reference = HubModelLoader.Load(saved);
        using (no_grad())
        {
            var ids = tensor(PromptFormat.EncodePrompt(loaded.Tokenizer, "reverse abc").Select(i => (long)i).ToArray()).unsqueeze(0);
            Assert.InRange(HubFixtures.MaxAbsDiff(loaded.Model.Forward(ids).Logits, reference.Module.Forward(ids)), 0, 1e-4);
        }
    }

    [Fact]
    public void The_mixture_draws_by_weight_and_leaves_out_what_does_not_fit_the_context()
    {
        var tokenizer = new ByteTokenizer();
        var shortOnes = Enumerable.Range(0, 10).Select(i => new Example("", $"s{i}")).ToList();
        var longOnes = new[] { new Example("", new string('x', 50)), new Example("", "fits") };
        var mixture = new PretrainMixture([
            new MixtureSource("a", shortOnes, [], 3, MixtureProbe.Loss),
            new MixtureSource("b", longOnes, [], 1, MixtureProbe.Loss)], tokenizer, maxPositions: 20);

        Assert.Equal(1, mixture.Dropped["b"]);
        Assert.Equal(0, mixture.Dropped["a"]);
        var random = new Random(5);
        int fromA = Enumerable.Range(0, 4000).Count(_ => mixture.Sample(random).Completion.StartsWith('s'));
        Assert.InRange(fromA / 4000.0, 0.72, 0.78);
        Assert.Throws<ArgumentException>(() => new PretrainMixture([new MixtureSource("c", [longOnes[0]], [], 1, MixtureProbe.Loss)], tokenizer, 20));
    }

    [Fact]
    public void The_bundled_real_text_base_model_is_a_deepseek_v2_hub_folder_that_both_loaders_agree_on()
    {
        var folder = Path.Combine(Repository.Root, "models", "base-v2");
        using var loaded = ModelFolder.Load(folder);
        Assert.Equal("deepseek_v2", loaded.Config.SourceModelType);
        Assert.Equal(new ByteTokenizer().Special, loaded.Tokenizer.Special);
        Assert.Equal(new ByteTokenizer().Encode("Übung 3"), loaded.Tokenizer.Encode("Übung 3"));
        var report = System.Text.Json.JsonSerializer.Deserialize<PretrainReport>(File.ReadAllText(Path.Combine(folder, PretrainReport.FileName)))!;
        Assert.Contains(report.Sources!, s => s.Source == "text:sotu" && s.Metric == "loss" && s.Value < 2.0);

        using var reference = HubModelLoader.Load(folder);
        using (no_grad())
        {
            var ids = tensor(PromptFormat.EncodePrompt(loaded.Tokenizer, "reverse hello").Select(i => (long)i).ToArray()).unsqueeze(0);
            Assert.InRange(HubFixtures.MaxAbsDiff(loaded.Model.Forward(ids).Logits, reference.Module.Forward(ids)), 0, 1e-4);
        }
    }
}
