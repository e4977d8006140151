using System.CommandLine;
using System.Diagnostics;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Formats.Files;
using DesMoe.Trainer.RealData;
using DesMoe.Trainer.Pretraining;
using DesMoe.Trainer.Evaluation;
using DesMoe.Formats.Tokenization;
using DesMoe.Trainer.Comparison;
using DesMoe.Trainer.Comparison.Paper;
using DesMoe.Trainer.Comparison.Reporting;

namespace DesMoe.Cli.Commands;

internal static class CompareCommand
{
    /// <summary>The forgetting benchmark's report (without --data); results.md is the paper's tables.</summary>
    private const string LegacyReport = "results-string-skills.md";

    public static Command Create()
    {
        var model = ModelOption.Create();
        var counts = new Option<string>("--domain-counts") { Description = "comma-separated numbers of domains", DefaultValueFactory = _ => "2,4,6" };
        var steps = new Option<int>("--steps-per-domain") { Description = "step budget per domain (the same for every method)", DefaultValueFactory = _ => 150 };
        var methods = new Option<string?>("--methods") { Description = "comma-separated method names (default: all)" };
        var output = new Option<string>("--out") { Description = "folder for the report (results.md with --data, else results-string-skills.md) and the PNG plots", DefaultValueFactory = _ => "docs" };
        var seed = new Option<int>("--seed") { Description = "seed for data, sampling and initialisation", DefaultValueFactory = _ => 1 };
        var lr = new Option<double>("--lr") { Description = "peak learning rate, the same for every method", DefaultValueFactory = _ => new BenchmarkOptions().LearningRate };
        var target = new Option<double>("--target-loss") { Description = "held-out loss that counts as converged", DefaultValueFactory = _ => 1.0 };
        var data = new Option<string?>("--data") { Description = "a `desmoe data prepare` folder: run the paper's Tables 1-3 and Figures 2-3 on its real-data domains (plus generated code) and general probes" };
        var quick = new Option<bool>("--quick") { Description = "with --data: the checking subset (FFT per domain and FFT, ESFT-Gate, DES-MoE mixed at 0.24x, one seed, 20 steps per domain; under 20 min on 2 cores)" };
        var seeds = new Option<string?>("--seeds") { Description = "with --data: comma-separated seeds of the rows the targets compare (default 1,2,3)" };
        var grid = new Option<string?>("--relative-rates") { Description = "with --data: comma-separated peak learning rates as multiples of the base model's pre-training peak, every method trained at each (default the paper's 0.024,0.071,0.24,0.71)" };
        var prune = new Option<bool>("--prune-runs") { Description = "with --data: after a complete run, delete the results in <out>/runs it did not use (other settings, or data or a model that changed)" };
        var basePeak = new Option<double?>("--base-peak-rate") { Description = "with --data: the base model's pre-training peak learning rate (default: training.json's learning_rate)" };

        var command = new Command("compare", "Run DES-MoE, full fine-tuning (joint, sequential), ESFT and the DES-MoE ablations on 2, 4 and 6 domains; write results.md and plots.")
        {
            model, counts, steps, methods, output, seed, target, lr, data, quick, seeds, grid, basePeak, prune,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CliErrors.Run(() =>
        {
            if (parse.GetValue(data) is { } prepared)
            {
                if (parse.GetResult(lr) is { Implicit: false })
                    throw new ArgumentException("with --data every method runs on one grid relative to the base model's peak: give --relative-rates (and --base-peak-rate), not --lr");
                return RunPaper(parse.GetValue(model)!, prepared, parse.GetValue(output)!, cancellation, parse.GetValue(quick),
                    parse.GetResult(steps) is { Implicit: false } ? parse.GetValue(steps) : null, parse.GetValue(grid), parse.GetValue(basePeak),
                    parse.GetValue(seeds), parse.GetValue(counts)!, parse.GetResult(counts) is { Implicit: false }, parse.GetValue(prune));
            }
            var options = new BenchmarkOptions
            {
                DomainCounts = Ints(parse.GetValue(counts)!),
                StepsPerDomain = parse.GetValue(steps),
                Seed = parse.GetValue(seed),
                LearningRate = parse.GetValue(lr),
                TargetValidationLoss = parse.GetValue(target),
                Methods = parse.GetValue(methods) is { } named ? Items(named) : [],
            };
            var clock = Stopwatch.StartNew();
            var benchmark = new ForgettingBenchmark(parse.GetValue(model)!, options);
            benchmark.Log += line => Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {line}");
            var results = benchmark.Run(cancellation);

            var folder = parse.GetValue(output)!;
            Directory.CreateDirectory(folder);
            var machine = $"{Environment.ProcessorCount} CPU cores, {Environment.OSVersion}, no GPU";
            var md = ResultsReport.ToMarkdown(results, options, "desmoe " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1)), machine, clock.Elapsed);
            File.WriteAllText(Path.Combine(folder, LegacyReport), md);
            Charts.ForgettingByDomainCount(results, Path.Combine(folder, "results-forgetting.png"));
            int largest = results.Max(r => r.Domains.Count);
            Charts.ValidationCurves(results.Where(r => r.Domains.Count == largest).ToList(), options.TargetValidationLoss, Path.Combine(folder, "results-loss.png"));
            Console.WriteLine(md);
            Console.WriteLine($"wrote {Path.GetFullPath(Path.Combine(folder, LegacyReport))} and plots in {clock.Elapsed.TotalMinutes:F1} min");
            return 0;
        })));
        return command;
    }

    private static string[] Items(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static List<int> Ints(string text) => Items(text).Select(int.Parse).ToList();

    private static List<double> Rates(string text) => Items(text)
        .Select(r => double.TryParse(r, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0
            ? v : throw new ArgumentException($"--relative-rates: '{r}' is not a positive multiple")).ToList();

    private static int RunPaper(string modelFolder, string prepared, string folder, CancellationToken cancellation,
        bool quick, int? stepsPerDomain, string? grid, double? basePeak, string? seeds, string counts, bool countsGiven, bool prune)
    {
        var options = (quick ? PaperOptions.Quick : new PaperOptions()) with { PruneUnusedRuns = prune };
        if (grid is not null) options = options with { RelativeRates = Rates(grid) };
        if (stepsPerDomain is { } s) options = options with { StepsPerDomain = s };
        if (seeds is not null) options = options with { Seeds = Ints(seeds) };
        if (countsGiven) options = options with { DomainCounts = Ints(counts) };
        double peak = basePeak ?? PretrainPeak(modelFolder);

        var clock = Stopwatch.StartNew();
        int context, seed = options.Seeds[0];
        ITextTokenizer tokenizer;
        using (var probe = ModelFolder.Load(modelFolder))
        {
            context = probe.Config.MaxPositions;
            tokenizer = probe.Tokenizer;
        }
        bool Fits(Example e) => PromptFormat.Fits(tokenizer, e, context);
        var domains = BenchmarkDomain.FromPrepared(prepared, options.TrainExamples, options.HeldOutExamples, Fits);
        var probes = GeneralProbes.FromPrepared(prepared, options.ProbeExamples);
        // What domain-routed DES-MoE consults to pick the experts it may adapt: the base model's own kinds of pre-training text.
        var reference = GeneralSet.PretrainSample(128).Concat(probes.Where(p => p.Kind == ProbeKind.NextToken)
            .SelectMany(p => File.ReadLines(Path.Combine(prepared, RealDomainPreparer.GeneralFolder, p.Name["next-token:".Length..] + ".train.txt")).Take(32))
            .Select(l => new Example("", l))).Where(Fits).ToList();
        Console.WriteLine($"domains: {string.Join(", ", domains.Select(d => $"{d.Name} ({d.Train.Count} train, {d.Validation.Count} validation, {d.Test.Count} test, {d.Metric})"))}");
        Console.WriteLine($"general probes: {string.Join(", ", probes.Select(p => p.Name))}");
        Console.WriteLine($"rates: {string.Join(", ", options.RelativeRates.Select(r => $"{r}x = {r * peak:G3}"))} of the base's pre-training peak {peak:G3}");

        var benchmark = new PaperBenchmark(modelFolder, domains, probes, reference, options, peak, folder);
        benchmark.Log += line => Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {line}");
        benchmark.Progress += progress => Console.WriteLine(progress);
        var rows = benchmark.Run(cancellation);

        Directory.CreateDirectory(folder);
        var machine = $"{Environment.ProcessorCount} CPU cores, {Environment.OSVersion}, no GPU";
        var command = "desmoe " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1));
        var md = PaperReport.ToMarkdown(rows, options, peak, command, machine, clock.Elapsed);
        AtomicFile.WriteAllText(Path.Combine(folder, "results.md"), md);
        AtomicFile.WriteAllText(Path.Combine(folder, "results.json"), ResultsJson.Write(rows, options, peak, command, machine, clock.Elapsed));
        Charts.Frontier(FrontierPoint.Of(rows, seed), Path.Combine(folder, "results-frontier.png"));
        Charts.GeneralByDomainCount(rows, ComparedMethods.Headline, seed, Path.Combine(folder, "results-general.png"));
        int full = domains.Count;
        Charts.TimeToBest(rows.Where(r => r.Setting == PaperSetting.Mixed && r.Seed == seed && r.Tuned && r.Domains.Count == full && !r.Labelled
            && !ComparedMethods.Ablations.Contains(r.Method)).ToList(), Path.Combine(folder, "results-time.png"));
        Console.WriteLine(md);
        Console.WriteLine($"wrote {Path.GetFullPath(Path.Combine(folder, "results.md"))}, results.json and plots in {clock.Elapsed.TotalMinutes:F1} min");
        return 0;
    }

    /// <summary>The base model's pre-training peak rate, from its training.json.</summary>
    private static double PretrainPeak(string modelFolder) =>
        PretrainReport.LoadFrom(modelFolder)?.LearningRate is > 0 and var rate ? rate
            : throw new ArgumentException($"{Path.Combine(modelFolder, PretrainReport.FileName)} gives no pre-training learning_rate; pass --base-peak-rate (the peak rate the base model was pre-trained at)");
}
