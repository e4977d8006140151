using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Formats.Evaluation;
using DesMoe.Trainer.Evaluation;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Trainer.Comparison.Paper;
using DesMoe.Trainer.Comparison.Reporting;
using System.Text.Json;
using Xunit;

namespace DesMoe.Tests.Adaptation;

/// <summary>The paper's comparison end to end on a tiny model: every row, Figure 2's counts, the seeds and the report.</summary>
public class PaperBenchmarkTests
{
    [Fact]
    public void Every_method_runs_on_the_grid_the_tuned_rates_run_the_rest_and_a_second_sitting_reuses_every_result()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("base");
        using (var model = TinyModels.Create(seed: 2, TinyModels.Config(experts: 8, topK: 2))) ModelFolder.Save(folder, model, new ByteTokenizer());
        var domains = new[] { "math", "law" }.Select(d =>
        {
            var split = DatasetSplit.Create(DomainCatalog.Get(d), 40, 8, 1);
            return new BenchmarkDomain(d, split.Train, split.Eval.Take(4).ToList(), split.Eval.Skip(4).ToList(), d == "law" ? TaskMetric.RougeL : TaskMetric.ExactMatch);
        }).ToList();
        var probes = new[]
        {
            new GeneralProbe("skills", GeneralSet.HeldOut(4), ProbeKind.ExactMatch),
            new GeneralProbe("next-token:text", [new Example("", "the cat sat on the mat"), new Example("", "a dog ran")], ProbeKind.NextToken),
        };
        var options = new PaperOptions { StepsPerDomain = 2, BatchSize = 4, HeldOutExamples = 4, ProbeExamples = 4, DomainCounts = [1, 2], Seeds = [1, 2],
            RelativeRates = [0.1, 0.3], ValidationPoints = 2 };
        var output = dir.File("out");
        var progress = new List<ComparisonProgress>();
        var benchmark = new PaperBenchmark(folder, domains, probes, GeneralSet.PretrainSample(16), options, basePeakRate: 1e-2, output);
        benchmark.Progress += progress.Add;

        var rows = benchmark.Run();

        // Every on-grid method at both rates over both domains (first seed); exactly one of them is its tuned row,
        // the one of lower validation loss.
        var grid = rows.Where(r => r.Domains.Count == 2 && r.Seed == 1 && r.Setting != PaperSetting.Untuned && !ComparedMethods.Ablations.Contains(r.Method)
                                   && r.Method != "ESFT-Token").ToList();
        var methods = new[] { ("FFT", PaperSetting.PerDomain), ("ESFT-Gate", PaperSetting.PerDomain),
            ("FFT", PaperSetting.Mixed), ("ESFT-Gate", PaperSetting.Mixed), ("DES-MoE", PaperSetting.Mixed),
            (ComparedMethods.DomainRoutedLabelled, PaperSetting.Mixed), (ComparedMethods.DomainRoutedUnlabelled, PaperSetting.Mixed) };
        Assert.Equal(methods.SelectMany(m => new[] { (m, 0.1), (m, 0.3) }).Order(), grid.Select(r => ((r.Method, r.Setting), r.RelativeRate)).Order());
        Assert.All(grid, r => Assert.Equal(r.RelativeRate * 1e-2, r.LearningRate, 12));
        foreach (var group in grid.GroupBy(r => (r.Method, r.Setting)))
        {
            Assert.Single(group, r => r.Tuned);
            Assert.Equal(group.MinBy(r => r.BestValidationLoss)!.RelativeRate, group.Single(r => r.Tuned).RelativeRate);
        }
        double Tuned(string method) => grid.Single(r => r.Method == method && r.Setting == PaperSetting.Mixed && r.Tuned).RelativeRate;
        // The tuned stage: ablations at DES-MoE's (ESFT-Gate's) rate, the second seed of the compared rows, Figure 2's smaller count.
        Assert.Equal(ComparedMethods.Ablations.Order(), rows.Where(r => ComparedMethods.Ablations.Contains(r.Method)).Select(r => r.Method).Order());
        Assert.Equal(Tuned("DES-MoE"), rows.Single(r => r.Method == ComparedMethods.Ablations[0]).RelativeRate);
        Assert.Equal(Tuned("ESFT-Gate"), rows.Single(r => r.Method == "ESFT-Gate + adaptive router").RelativeRate);
        Assert.Equal(grid.Single(r => r.Method == "ESFT-Gate" && r.Setting == PaperSetting.PerDomain && r.Tuned).RelativeRate,
            rows.Single(r => r.Method == "ESFT-Token").RelativeRate);
        Assert.Equal([("DES-MoE", PaperSetting.Mixed), ("FFT", PaperSetting.PerDomain)], rows.Where(r => r.Seed == 2).Select(r => (r.Method, r.Setting)).Order());
        Assert.Equal(ComparedMethods.Headline.Order(), rows.Where(r => r.Domains.Count == 1).Select(r => r.Method).Order());
        Assert.All(rows.Where(r => r.Setting != PaperSetting.Untuned), r =>
        {
            Assert.All(r.DomainScores.Values, s => Assert.InRange(s, 0, 1));
            Assert.Equal(["next-token:text", "skills"], r.General.Scores.Keys.Order());
            Assert.All(r.BestSteps.Values, s => Assert.InRange(s!.Value, 1, r.Steps));
        });
        Assert.Equal(1.0, progress[^1].Fraction, 6);
        Assert.Equal(progress[^1].JobsTotal, progress[^1].JobsDone);

        var md = PaperReport.ToMarkdown(rows, options, 1e-2, "desmoe compare --data x", "test", TimeSpan.FromMinutes(1));
        foreach (var heading in new[] { "## The learning-forgetting frontier", "## Table 1", "## Table 2", "## Every method at matched rates", "## Table 3",
                     "## The compared rows over seeds 1, 2", "## Figure 2", "## Figure 3", "## Against the targets" })
            Assert.Contains(heading, md);
        Assert.Contains("51.6", md); // the paper's DES-MoE downstream average beside ours
        Assert.Equal(4, md.Split('\n').Count(l => l.StartsWith("- ") && (l.EndsWith(": met.") || l.Contains(": missed"))));

        using (var json = JsonDocument.Parse(ResultsJson.Write(rows, options, 1e-2, "c", "m", TimeSpan.Zero)))
        {
            var root = json.RootElement;
            Assert.Equal(2, root.GetProperty("untuned").GetProperty("downstream").EnumerateObject().Count());
            var first = root.GetProperty("rows").EnumerateArray().First(r => r.GetProperty("setting").GetString() == "mixed");
            foreach (var field in new[] { "method", "setting", "domains", "learning_rate", "relative_rate", "tuned", "labelled", "seed", "steps", "best_step",
                         "wall_seconds", "downstream", "downstream_average", "general", "general_average" })
                Assert.True(first.TryGetProperty(field, out _), field);
            Assert.Equal(rows.Count - 1, root.GetProperty("rows").GetArrayLength());
        }

        // A second sitting on the same folder runs nothing: every job comes from runs/.
        var again = new PaperBenchmark(folder, domains, probes, GeneralSet.PretrainSample(16), options, basePeakRate: 1e-2, output);
        var second = new List<ComparisonProgress>();
        again.Progress += second.Add;
        var resumed = again.Run();
        Assert.Equal(second[^1].JobsTotal, second[^1].JobsCached);
        Assert.Equal(rows.Select(r => (r.Method, r.Setting, r.RelativeRate, r.Seed, r.DomainAverage, r.General.Average)),
            resumed.Select(r => (r.Method, r.Setting, r.RelativeRate, r.Seed, r.DomainAverage, r.General.Average)));
        // A changed input (another step budget) is a different job.
        var longer = new PaperBenchmark(folder, domains, probes, GeneralSet.PretrainSample(16), options with { StepsPerDomain = 3, Seeds = [1], Ablations = false, DomainCounts = [2], RelativeRates = [0.1] },
            basePeakRate: 1e-2, output);
        var third = new List<ComparisonProgress>();
        longer.Progress += third.Add;
        longer.Run();
        Assert.Equal(1, third[^1].JobsCached); // only the untuned scores carry over

        // Pruning after a complete run keeps exactly the jobs it used: the first sittings' results go, a rerun finds all it needs.
        var runs = Path.Combine(output, "runs");
        int before = Directory.GetFiles(runs).Length;
        var pruning = new PaperBenchmark(folder, domains, probes, GeneralSet.PretrainSample(16), options with { StepsPerDomain = 3, Seeds = [1], Ablations = false, DomainCounts = [2], RelativeRates = [0.1], PruneUnusedRuns = true },
            basePeakRate: 1e-2, output);
        pruning.Run();
        int kept = Directory.GetFiles(runs).Length;
        Assert.Equal(third[^1].JobsTotal, kept);
        Assert.True(kept < before, $"nothing pruned: {before} files before, {kept} after");
    }

    [Fact]
    public void All_six_domains_come_from_the_prepared_splits_scored_by_exact_match()
    {
        using var dir = new TempDirectory();
        foreach (var name in BenchmarkDomain.PaperOrder)
        {
            Jsonl.Write(dir.File($"{name}.train.jsonl"), [new Example($"{name} q1", "a1"), new Example(new string('x', 500), "too long")]);
            Jsonl.Write(dir.File($"{name}.validation.jsonl"), [new Example($"{name} q2", "a2")]);
            Jsonl.Write(dir.File($"{name}.test.jsonl"), [new Example($"{name} q3", "a3")]);
        }

        var domains = BenchmarkDomain.FromPrepared(dir.Path, 10, 10, e => e.Prompt.Length < 100);

        Assert.Equal(BenchmarkDomain.PaperOrder, domains.Select(d => d.Name));
        Assert.Equal(["math", "law", "translation", "intent", "medicine", "code"], domains.Select(d => d.Name));
        Assert.All(domains, d => Assert.Equal(TaskMetric.ExactMatch, d.Metric));
        Assert.Single(domains.Single(d => d.Name == "law").Train); // the over-long example is left out

        Assert.Equal("law q3", domains.Single(d => d.Name == "law").Test.Single().Prompt);
        Assert.Equal("code q2", domains.Single(d => d.Name == "code").Validation.Single().Prompt);
        File.Delete(dir.File("law.validation.jsonl"));
        Assert.Contains("run `desmoe data prepare", Assert.Throws<FileNotFoundException>(() => BenchmarkDomain.FromPrepared(dir.Path, 10, 10, _ => true)).Message);
    }
}
