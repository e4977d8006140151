using DesMoe.Tests.Reference;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Inspection;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

public sealed class RandomCheckpointTests
{
    [Theory]
    [InlineData("deepseek_v2")]
    [InlineData("mixtral")]
    public void A_random_checkpoint_of_a_config_with_fewer_layers_loads_and_inspects_as_written(string architecture)
    {
        using var temp = new TempDirectory();
        var result = RandomCheckpoint.Write(Path.Combine(HubFixtures.Folder(architecture), "config.json"), temp.Path, ScalarType.BFloat16, layers: 2);

        var report = string.Join("\n", ModelInspector.Inspect(temp.Path).Lines());
        Assert.Contains("BF16", report);
        Assert.Contains("layers             2", report);
        using var model = HubModelLoader.Load(temp.Path);
        Assert.Equal(2, model.Config.Common.NumLayers);
        long loaded = model.Module.parameters().Sum(p => p.numel());
        Assert.Equal(result.Parameters, loaded);
        Assert.Equal(result.Parameters * 2, result.Bytes - HeaderBytes(result.Folder));
    }

    [Fact]
    public void An_unsupported_dtype_or_layer_count_is_refused_by_name()
    {
        using var temp = new TempDirectory();
        var config = Path.Combine(HubFixtures.Folder("olmoe"), "config.json");
        Assert.Contains("Int32", Assert.Throws<ArgumentException>(() => RandomCheckpoint.Write(config, temp.Path, ScalarType.Int32)).Message);
        Assert.Contains("layers", Assert.Throws<ArgumentException>(() => RandomCheckpoint.Write(config, temp.Path, ScalarType.Float32, layers: 0)).Message);
    }

    /// <summary>The safetensors header: an 8-byte length, then that many bytes of JSON.</summary>
    private static long HeaderBytes(string folder)
    {
        using var file = File.OpenRead(Path.Combine(folder, "model.safetensors"));
        var length = new byte[8];
        file.ReadExactly(length);
        return 8 + BitConverter.ToInt64(length);
    }
}
