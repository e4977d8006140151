using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Formats.Evaluation;
using DesMoe.Trainer.Evaluation;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Trainer.Comparison.Paper;
using DesMoe.Trainer.Comparison.Reporting;
using Xunit;

namespace DesMoe.Tests.Adaptation;

/// <summary>The paper's comparison end to end on a tiny model: every row, Figure 2's counts, the seeds and the report.</summary>
public class PaperBenchmarkTests
{
    [Fact]
    public void Every_row_of_the_papers_tables_is_measured_and_reported()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("base");
        using (var model = TinyModels.Create(seed: 2, TinyModels.Config(experts: 8, topK: 2))) ModelFolder.Save(folder, model, new ByteTokenizer());
        var domains = new[] { "math", "law" }.Select(d =>
        {
            var split = DatasetSplit.Create(DomainCatalog.Get(d), 40, 4, 1);
            return new BenchmarkDomain(d, split.Train, split.Eval, d == "law" ? TaskMetric.RougeL : TaskMetric.ExactMatch);
        }).ToList();
        var probes = new[]
        {
            new GeneralProbe("skills", GeneralSet.HeldOut(4), ProbeKind.ExactMatch),
            new GeneralProbe("next-token:text", [new Example("", "the cat sat on the mat"), new Example("", "a dog ran")], ProbeKind.NextToken),
        };
        var options = new PaperOptions { StepsPerDomain = 2, BatchSize = 4, EvalExamples = 4, ProbeExamples = 4, DomainCounts = [1, 2], Seeds = [1, 2],
            LearningRateGrid = [1e-3, 3e-3] };

        var rows = new PaperBenchmark(folder, domains, probes, GeneralSet.PretrainSample(16), options).Run();

        var full = rows.Where(r => r.Domains.Count == 2 && r.Seed <= 1 && r.Setting != PaperSetting.LearningRateTrial).Select(r => (r.Method, r.Setting)).ToList();
        Assert.Equal([
            ("Untuned", PaperSetting.Untuned),
            ("FFT", PaperSetting.PerDomain), ("ESFT-Token", PaperSetting.PerDomain), ("ESFT-Gate", PaperSetting.PerDomain),
            ("FFT", PaperSetting.Mixed), ("ESFT-Gate", PaperSetting.Mixed), ("DES-MoE", PaperSetting.Mixed),
            ("DES-MoE w/o adaptive router", PaperSetting.Mixed), ("DES-MoE w/o expert-domain masks", PaperSetting.Mixed), ("DES-MoE w/o schedule", PaperSetting.Mixed),
            ("ESFT-Gate + adaptive router", PaperSetting.Mixed),
            (PaperBenchmark.DomainRoutedLabelled, PaperSetting.Mixed), (PaperBenchmark.DomainRoutedUnlabelled, PaperSetting.Mixed),
        ], full);
        // The second seed repeats the rows the targets compare only.
        Assert.Equal(["DES-MoE", "FFT"], rows.Where(r => r.Seed == 2).Select(r => r.Method).Order());
        // The grid trains each headline method at both rates on Figure 2's smallest count; the lowest held-out loss
        // is that method's rate everywhere, and its trial is Figure 2's point.
        var trials = rows.Where(r => r.Setting == PaperSetting.LearningRateTrial).ToList();
        Assert.Equal(PaperBenchmark.Headline.SelectMany(m => new[] { (m, 1e-3), (m, 3e-3) }).Order(), trials.Select(r => (r.Method, r.LearningRate)).Order());
        Assert.All(trials, t => Assert.Single(t.Domains));
        foreach (var method in PaperBenchmark.Headline)
        {
            var chosen = trials.Where(t => t.Method == method).MinBy(t => t.BestValidationLoss)!.LearningRate;
            Assert.Equal(chosen, rows.Single(r => r.Setting == PaperSetting.Mixed && r.Method == method && r.Domains.Count == 1).LearningRate);
            Assert.All(rows.Where(r => r.Method == method && r.Setting != PaperSetting.LearningRateTrial), r => Assert.Equal(chosen, r.LearningRate));
        }
        Assert.Equal(rows.Single(r => r.Method == "DES-MoE" && r.Domains.Count == 2 && r.Seed == 1).LearningRate,
            rows.Single(r => r.Method == PaperBenchmark.Ablations[0]).LearningRate);
        Assert.All(rows, r =>
        {
            Assert.All(r.DomainScores.Values, s => Assert.InRange(s, 0, 1));
            Assert.Equal(["next-token:text", "skills"], r.General.Scores.Keys.Order());
        });
        Assert.All(rows.Where(r => r.Setting == PaperSetting.Mixed), r => Assert.NotNull(r.SecondsToBest));

        var md = PaperReport.ToMarkdown(rows, options, "desmoe compare --data x", "test", TimeSpan.FromMinutes(1));
        foreach (var heading in new[] { "## Learning-rate grid", "## Table 1", "## Table 2", "## Table 3", "## Headline rows over seeds 1, 2", "## Figure 2", "## Figure 3", "Forgetting reduction" })
            Assert.Contains(heading, md);
        Assert.Contains("| DES-MoE | mixed, one model |", md);
        Assert.Contains("51.6", md); // the paper's DES-MoE downstream average beside ours
        Assert.Contains("| ESFT-Gate + adaptive router |", md);
        // all four of the paper's targets get a verdict
        Assert.Equal(4, md.Split('\n').Count(l => l.StartsWith("- ") && (l.EndsWith(": met.") || l.EndsWith(": missed."))));
    }

    [Fact]
    public void Domains_come_from_the_prepared_folder_with_generated_code_and_rouge_l_for_summarisation()
    {
        using var dir = new TempDirectory();
        foreach (var name in new[] { "math", "law", "translation", "summarisation", "medicine" })
        {
            Jsonl.Write(dir.File($"{name}.train.jsonl"), [new Example($"{name} q1", "a1"), new Example(new string('x', 500), "too long")]);
            Jsonl.Write(dir.File($"{name}.eval.jsonl"), [new Example($"{name} q2", "a2")]);
        }

        var domains = BenchmarkDomain.FromPrepared(dir.Path, 10, 10, 1, e => e.Prompt.Length < 100);

        Assert.Equal(BenchmarkDomain.PaperOrder, domains.Select(d => d.Name));
        Assert.Equal(TaskMetric.RougeL, domains.Single(d => d.Name == "summarisation").Metric);
        Assert.All(domains.Where(d => d.Name != "summarisation"), d => Assert.Equal(TaskMetric.ExactMatch, d.Metric));
        Assert.Single(domains.Single(d => d.Name == "law").Train); // the over-long example is left out
        Assert.Equal(10, domains.Single(d => d.Name == "code").Train.Count);

        File.Delete(dir.File("law.eval.jsonl"));
        Assert.Contains("run `desmoe data prepare", Assert.Throws<FileNotFoundException>(() => BenchmarkDomain.FromPrepared(dir.Path, 10, 10, 1, _ => true)).Message);
    }
}
