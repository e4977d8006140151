using DesMoe.Bench.Domains;
using DesMoe.Exporter.Graph;
using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using Xunit;

namespace DesMoe.Tests.Bench;

public class DomainSequenceTests
{
    [Fact]
    public void Domains_added_in_sequence_leave_every_earlier_path_bit_identical_and_each_export_is_measured()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("base");
        using (var model = TinyModels.Create(config: TinyModels.Config(experts: 8, topK: 2))) ModelFolder.Save(folder, model, new ByteTokenizer());
        var domains = SequenceDomains.Build(prepared: null, trainExamples: 32, heldOutExamples: 4, seed: 1).Take(3).ToList();

        var result = new DomainSequence(folder, dir.File("work"), steps: 2, measureAt: [0, 3], repeats: 1, [ExpertKernel.StandardOps]).Run(domains, baseline: true);

        Assert.Equal(["math", "code", "law"], result.Additions.Select(a => a.Name));
        Assert.Equal([1, 2, 3], result.Additions.Select(a => a.PathsChecked)); // the no-domain path, then each earlier domain too
        Assert.All(result.Additions, a => Assert.True(a.EarlierPathsIdentical, $"{a.Name} changed {a.PathsChanged} earlier paths"));
        Assert.All(result.Additions, a => Assert.Equal(result.Additions[0].TrainedParameters, a.TrainedParameters));
        Assert.All(result.Additions, a => Assert.Equal(a.Accuracy, result.FinalAccuracy[a.Name])); // later domains do not move it
        Assert.All(result.Additions, a => Assert.NotNull(a.BaselineAccuracy));

        Assert.Equal([0, 3], result.Exports.Select(e => e.Domains));
        Assert.True(result.Exports[1].FolderBytes > result.Exports[0].FolderBytes, "three domains' copies take no room in the export");
        Assert.Equal(["no domain", "no domain"], result.Exports[0].Latency.Select(l => l.Engine)); // batch 1 and 8
        Assert.Equal(4, result.Exports[1].Latency.Count); // and the newest domain's path at each
        Assert.All(result.Exports.SelectMany(e => e.Latency), l => Assert.True(l.DecodeMsPerStep > 0));

        // Saved without timing, then timed from the saved versions: the same points.
        var later = new DomainSequence(folder, dir.File("work2"), steps: 2, measureAt: [0, 3], repeats: 1, [ExpertKernel.StandardOps]);
        Assert.Empty(later.Run(domains, baseline: false, timeExports: false).Exports);
        Assert.Equal([0, 3], later.TimeSaved().Select(e => e.Domains));

        var report = new StringWriter();
        DomainSequenceReport.Print(result, report);
        Assert.Contains("| 3 | law | generated |", report.ToString());
        Assert.Contains("| 3 of 3 |", report.ToString());
    }

    [Fact]
    public void A_prepared_folder_without_a_domain_file_is_named()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<FileNotFoundException>(() => SequenceDomains.Build(dir.Path, 8, 2, seed: 1));
        Assert.Contains("medicine.train.jsonl not found; run `desmoe data prepare", error.Message);
    }
}
