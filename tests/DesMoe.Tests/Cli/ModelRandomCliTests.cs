using DesMoe.Torch.Checkpoints;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Cli;

public class ModelRandomCliTests
{
    [Fact]
    public async Task A_config_in_our_own_layout_gives_a_random_model_folder_the_exporter_and_server_take()
    {
        using var dir = new TempDirectory();
        var config = TinyModels.Config(experts: 4, topK: 2) with { NumLayers = 3 };
        File.WriteAllText(dir.File("config.json"), config.ToJson());

        var result = await CliRunner.BenchAsync("http://127.0.0.1:1", null, "random-model", "--config", dir.File("config.json"), "--out", dir.File("model"), "--layers", "1");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("float32", result.Output);
        using var loaded = ModelFolder.Load(dir.File("model"));
        Assert.Equal(1, loaded.Config.NumLayers);
        Assert.Equal(config.NumRoutedExperts, loaded.Config.NumRoutedExperts);
        Assert.Contains($"{loaded.Model.ParameterCount():N0} parameters", result.Output);
    }
}
