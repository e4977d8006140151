using DesMoe.Formats.Files;
using DesMoe.Formats.Probes;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using Xunit;

namespace DesMoe.Tests.Cli;

public class ModelProbesCliTests
{
    [Fact]
    public async Task Model_probes_gives_a_folder_the_held_out_skills_prompts_it_answers_right()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("base");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(BundledModel.StringSkillsFolder)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));

        var result = await CliRunner.RunAsync("http://127.0.0.1:1", null, "model", "probes", folder, "--held-out-per-source", "60", "--task-examples", "40");

        Assert.True(result.ExitCode == 0, result.Error);
        var probes = ProbeFolder.Read(folder);
        Assert.NotNull(probes);
        var skills = Assert.Single(probes.Probes);
        Assert.Equal(("skills", ProbeMetric.ExactMatch, 40), (skills.Name, skills.Metric, skills.Examples.Count));
        Assert.Equal("desmoe model probes (--held-out-per-source 60)", probes.MadeBy);
        Assert.All(skills.Examples, e => Assert.Contains(e, DesMoe.Formats.Data.GeneralSet.HeldOut(60))); // held out from pre-training
    }

    [Fact]
    public async Task A_model_that_does_well_on_nothing_gets_no_probes_and_the_reason()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("untrained");
        using (var model = TinyModels.Create(seed: 5)) ModelFolder.Save(folder, model, new ByteTokenizer());

        var result = await CliRunner.RunAsync("http://127.0.0.1:1", null, "model", "probes", folder, "--held-out-per-source", "20");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("no probe to write", result.Error);
        Assert.False(Directory.Exists(ProbeFolder.PathIn(folder)));
    }
}
