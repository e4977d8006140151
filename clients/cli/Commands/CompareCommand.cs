using System.CommandLine;
using System.Diagnostics;
using DesMoe.Trainer.Benchmark;
using DesMoe.Trainer.Reporting;

namespace DesMoe.Cli.Commands;

internal static class CompareCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var counts = new Option<string>("--domain-counts") { Description = "comma-separated numbers of domains", DefaultValueFactory = _ => "2,4,6" };
        var steps = new Option<int>("--steps-per-domain") { Description = "step budget per domain (the same for every method)", DefaultValueFactory = _ => 150 };
        var methods = new Option<string?>("--methods") { Description = "comma-separated method names (default: all)" };
        var output = new Option<string>("--out") { Description = "folder for results.md and the PNG plots", DefaultValueFactory = _ => "docs" };
        var seed = new Option<int>("--seed") { Description = "seed for data, sampling and initialisation", DefaultValueFactory = _ => 1 };
        var lr = new Option<double>("--lr") { Description = "peak learning rate, the same for every method", DefaultValueFactory = _ => new BenchmarkOptions().LearningRate };
        var target = new Option<double>("--target-loss") { Description = "held-out loss that counts as converged", DefaultValueFactory = _ => 1.0 };

        var command = new Command("compare", "Run DES-MoE, full fine-tuning (joint, sequential), ESFT and the DES-MoE ablations on 2, 4 and 6 domains; write results.md and plots.")
        {
            model, counts, steps, methods, output, seed, target, lr,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CliErrors.Run(() =>
        {
            var options = new BenchmarkOptions
            {
                DomainCounts = parse.GetValue(counts)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList(),
                StepsPerDomain = parse.GetValue(steps),
                Seed = parse.GetValue(seed),
                LearningRate = parse.GetValue(lr),
                TargetValidationLoss = parse.GetValue(target),
                Methods = parse.GetValue(methods)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
            };
            var clock = Stopwatch.StartNew();
            var benchmark = new ForgettingBenchmark(parse.GetValue(model)!, options);
            benchmark.Log += line => Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {line}");
            var results = benchmark.Run(cancellation);

            var folder = parse.GetValue(output)!;
            Directory.CreateDirectory(folder);
            var machine = $"{Environment.ProcessorCount} CPU cores, {Environment.OSVersion}, no GPU";
            var md = ResultsReport.ToMarkdown(results, options, "desmoe " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1)), machine, clock.Elapsed);
            File.WriteAllText(Path.Combine(folder, "results.md"), md);
            Charts.ForgettingByDomainCount(results, Path.Combine(folder, "results-forgetting.png"));
            int largest = results.Max(r => r.Domains.Count);
            Charts.ValidationCurves(results.Where(r => r.Domains.Count == largest).ToList(), options.TargetValidationLoss, Path.Combine(folder, "results-loss.png"));
            Console.WriteLine(md);
            Console.WriteLine($"wrote {Path.GetFullPath(Path.Combine(folder, "results.md"))} and plots in {clock.Elapsed.TotalMinutes:F1} min");
            return 0;
        })));
        return command;
    }
}
