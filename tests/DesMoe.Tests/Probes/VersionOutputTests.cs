using DesMoe.Formats.Probes;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using DesMoe.Worker;
using Xunit;

namespace DesMoe.Tests.Probes;

/// <summary>What every passing job (AddDomain and RemoveDomain alike) stages: the checkpoint with the parent's probes, and its export.</summary>
public class VersionOutputTests
{
    [Fact]
    public void A_staged_version_keeps_the_parents_probes_beside_its_checkpoint_and_export()
    {
        using var dir = new TempDirectory();
        var parent = dir.File("parent");
        using var model = TinyModels.Create(seed: 6);
        ModelFolder.Save(parent, model, new ByteTokenizer());
        ProbeFolder.Write(parent, new ProbeSet([new HeldOutProbe("text:sotu", ProbeMetric.NextTokenAccuracy, [new("", "We the people.")], 0.5)], "test"));
        var ownerFile = dir.File("owner");
        File.WriteAllText(ownerFile, "token");
        var output = dir.File("staging");
        Directory.CreateDirectory(output);

        VersionOutput.Write(output, ownerFile, "token", parent, model, new ByteTokenizer(), hub: null, new Dictionary<string, string> { ["extra.json"] = "{}" }, _ => { });

        var staged = Path.Combine(output, "model");
        Assert.Equal(ProbeFolder.Read(parent)!.Describe(), ProbeFolder.Read(staged)?.Describe());
        Assert.True(File.Exists(Path.Combine(staged, "extra.json")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(output, "onnx"), "*.onnx"));
    }
}
