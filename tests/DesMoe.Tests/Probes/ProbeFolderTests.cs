using DesMoe.Formats.Data;
using DesMoe.Formats.Files;
using DesMoe.Formats.Probes;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Probes;

public class ProbeFolderTests
{
    private static ProbeSet Sample() => new(
    [
        new HeldOutProbe("text:gcide", ProbeMetric.NextTokenAccuracy, [new("", "Abacus (n.): a frame with beads, \"for\" reckoning."), new("", "Ünïcode passage, with ' and +.")], 0.536),
        new HeldOutProbe("skills", ProbeMetric.ExactMatch, [new("reverse abc", "cba"), new("upper moe", "MOE")], 1.0),
    ], "desmoe pretrain");

    [Fact]
    public void Probes_written_to_a_model_folder_read_back_equal()
    {
        using var dir = new TempDirectory();
        var written = Sample();
        ProbeFolder.Write(dir.Path, written);

        var read = ProbeFolder.Read(dir.Path);

        Assert.NotNull(read);
        Assert.Equal(written.MadeBy, read.MadeBy);
        Assert.Equal(written.Probes.Select(p => (p.Name, p.Metric, p.Score)), read.Probes.Select(p => (p.Name, p.Metric, p.Score)));
        for (int i = 0; i < written.Probes.Count; i++) Assert.Equal(written.Probes[i].Examples, read.Probes[i].Examples);
        Assert.Equal(["manifest.json", "skills.jsonl", "text-gcide.txt"], Directory.GetFiles(ProbeFolder.PathIn(dir.Path)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("text:gcide 2, skills 2; made by desmoe pretrain", read.Describe());
    }

    [Fact]
    public void A_folder_without_probes_reads_as_none_and_copies_nothing()
    {
        using var dir = new TempDirectory();
        var target = Path.Combine(dir.Path, "adapted");
        Directory.CreateDirectory(target);

        Assert.Null(ProbeFolder.Read(dir.Path));
        ProbeFolder.CopyTo(dir.Path, target);
        Assert.False(Directory.Exists(ProbeFolder.PathIn(target)));
    }

    [Fact]
    public void An_adapted_model_folder_gets_a_copy_of_its_bases_probes()
    {
        using var dir = new TempDirectory();
        var source = Path.Combine(dir.Path, "base");
        var target = Path.Combine(dir.Path, "adapted");
        Directory.CreateDirectory(target);
        ProbeFolder.Write(source, Sample());

        ProbeFolder.CopyTo(source, target);

        Assert.Equal(ProbeFolder.Read(source)!.Probes.Select(p => p.Examples.Count), ProbeFolder.Read(target)!.Probes.Select(p => p.Examples.Count));
    }

    [Fact]
    public void A_manifest_that_miscounts_its_file_names_both()
    {
        using var dir = new TempDirectory();
        ProbeFolder.Write(dir.Path, Sample());
        File.AppendAllLines(Path.Combine(ProbeFolder.PathIn(dir.Path), "text-gcide.txt"), ["one passage too many"]);

        var error = Assert.Throws<InvalidDataException>(() => ProbeFolder.Read(dir.Path));
        Assert.Contains("text-gcide.txt holds 3 examples; manifest.json says 2", error.Message);
    }

    [Theory]
    [InlineData("Text Probe", "", "passage", "probe name 'Text Probe'")]
    [InlineData("text:a", "a prompt", "passage", "has a passage with a prompt")]
    [InlineData("text:a", "", "two\nlines", "multi-line passage")]
    public void Probes_the_format_cannot_hold_are_refused_with_the_reason(string name, string prompt, string passage, string reason)
    {
        using var dir = new TempDirectory();
        var set = new ProbeSet([new HeldOutProbe(name, ProbeMetric.NextTokenAccuracy, [new Example(prompt, passage)])], "test");

        var error = Assert.Throws<ArgumentException>(() => ProbeFolder.Write(dir.Path, set));
        Assert.Contains(reason, error.Message);
        Assert.False(Directory.Exists(ProbeFolder.PathIn(dir.Path)));
    }

    [Fact]
    public void The_bundled_base_model_carries_general_probes()
    {
        var probes = ProbeFolder.Read(BundledModel.Folder);

        Assert.NotNull(probes);
        Assert.Contains(probes.Probes, p => p.Metric == ProbeMetric.NextTokenAccuracy && p.Examples.Count >= 50);
        Assert.All(probes.Probes, p => Assert.InRange(p.Score ?? -1, 0.3, 1.0));
    }
}
