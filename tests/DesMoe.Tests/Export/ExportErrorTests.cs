using DesMoe.Formats.Files;
using DesMoe.Formats.Experts;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Export;

public sealed class ExportErrorTests
{
    [Fact]
    public void A_folder_without_weights_is_named_and_nothing_is_written()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("empty"));

        var error = Assert.Throws<FileNotFoundException>(() => ModelExporter.Export(dir.File("empty"), dir.File("out"), new ExportOptions()));

        Assert.Contains("model.safetensors", error.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void A_config_that_does_not_match_the_weights_is_refused()
    {
        using var dir = new TempDirectory();
        ExportFixture.CopyFolder(BundledModel.StringSkillsFolder, dir.File("model"));
        var configPath = Path.Combine(dir.File("model"), "config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"n_routed_experts\": 16", "\"n_routed_experts\": 12"));

        var error = Assert.Throws<InvalidDataException>(() => ModelExporter.Export(dir.File("model"), dir.File("out"), new ExportOptions()));

        Assert.Contains("router.gate.weight", error.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void An_unknown_domain_in_the_assignment_is_named_and_an_earlier_export_survives()
    {
        using var dir = new TempDirectory();
        ExportFixture.CopyFolder(BundledModel.StringSkillsFolder, dir.File("model"));
        ModelExporter.Export(dir.File("model"), dir.File("out"), new ExportOptions());
        var before = File.ReadAllBytes(Path.Combine(dir.File("out"), "model.onnx"));
        var assignment = new ExpertAssignment(["math"], 16, Enumerable.Range(0, 4).Select(_ => (IReadOnlyList<int[]>)[[0, 1]]).ToList());
        File.WriteAllText(Path.Combine(dir.File("model"), ExpertAssignment.FileName), assignment.ToJson().Replace("\"domain\": \"math\"", "\"domain\": \"poetry\""));

        var error = Assert.Throws<InvalidDataException>(() => ModelExporter.Export(dir.File("model"), dir.File("out"), new ExportOptions()));

        Assert.Contains("unknown domain 'poetry'", error.Message);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir.File("out"), "model.onnx")));
        Assert.Single(Directory.GetDirectories(dir.Path), d => Path.GetFileName(d).StartsWith("out"));
    }

    [Fact]
    public void Expert_ids_outside_the_model_are_refused()
    {
        var json = new ExpertAssignment(["math"], 4, [[[0, 7]]]).ToJson();

        var error = Assert.Throws<InvalidDataException>(() => ExpertAssignment.Parse(json, numLayers: 1, numExperts: 4));

        Assert.Contains("[7] are outside 0..3", error.Message);
        var mismatch = Assert.Throws<InvalidDataException>(() => ExpertAssignment.Parse(json, numLayers: 1, numExperts: 8));
        Assert.Contains("num_experts is 4 but the model has 8", mismatch.Message);
    }
}
