using DesMoe.Formats.Files;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Config;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Checkpoints;

public class ModelFolderTests
{
    [Fact]
    public void Save_then_load_gives_identical_logits()
    {
        using var dir = new TempDirectory();
        using var model = TinyModels.Create(seed: 11);
        var folder = Path.Combine(dir.Path, "m");
        ModelFolder.Save(folder, model, new ByteTokenizer());

        using var loaded = ModelFolder.Load(folder);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = randint(0, 256, [2, 12], dtype: int64);

        Assert.True(model.Forward(ids).Logits.eq(loaded.Model.Forward(ids).Logits).all().item<bool>(), "logits differ after save and load");
        Assert.Equal(model.Config, loaded.Config);
        Assert.IsType<ByteTokenizer>(loaded.Tokenizer);
        Assert.True(File.Exists(Path.Combine(folder, "config.json")));
        Assert.True(File.Exists(Path.Combine(folder, "tokenizer.json")));
        Assert.Equal([folder], Directory.GetDirectories(dir.Path)); // no staging folders left behind
    }

    [Fact]
    public void Loading_weights_that_do_not_match_the_config_names_the_tensor_and_both_shapes()
    {
        using var dir = new TempDirectory();
        var folder = Path.Combine(dir.Path, "m");
        using (var model = TinyModels.Create()) ModelFolder.Save(folder, model, new ByteTokenizer());
        var config = MoeConfig.Load(Path.Combine(folder, "config.json"));
        File.WriteAllText(Path.Combine(folder, "config.json"), (config with { NumRoutedExperts = 8 }).ToJson());

        var error = Assert.Throws<InvalidDataException>(() => ModelFolder.Load(folder));

        Assert.Contains("tensor 'layers.0.mlp.router.gate.weight' has shape [6, 32] in model.safetensors but the config expects [8, 32]", error.Message);
        Assert.Contains("tensor 'layers.0.mlp.experts.7.gate_proj.weight' is missing", error.Message);
    }

    [Fact]
    public void A_folder_without_weights_is_reported_clearly()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), TinyModels.Config().ToJson());
        var error = Assert.Throws<FileNotFoundException>(() => ModelFolder.Load(dir.Path));
        Assert.Contains("no model.safetensors", error.Message);
    }

    [Fact]
    public void A_failed_save_leaves_the_previous_folder_intact()
    {
        using var dir = new TempDirectory();
        var folder = Path.Combine(dir.Path, "m");
        using var model = TinyModels.Create(seed: 2);
        ModelFolder.Save(folder, model, new ByteTokenizer());
        var before = ModelFiles.WeightsSha256(folder);

        // A tokenizer with more ids than the model has fails validation before anything is replaced.
        Assert.Throws<ArgumentException>(() => ModelFolder.Save(folder, model, new TiktokenBpeTokenizer()));

        Assert.Equal(before, ModelFiles.WeightsSha256(folder));
        Assert.Single(Directory.GetDirectories(dir.Path));
    }
}
