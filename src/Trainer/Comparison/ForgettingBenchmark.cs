using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Trainer.Comparison;

/// <summary>
/// Runs every method on the first N built-in domains for each N, from the same base model folder, on the same seeded
/// data and step budget, and measures per-domain accuracy, general-set forgetting and convergence.
/// </summary>
public sealed class ForgettingBenchmark(string baseModelFolder, BenchmarkOptions options)
{
    public event Action<string>? Log;

    public IReadOnlyList<MethodResult> Run(CancellationToken cancellation = default)
    {
        var methods = options.Methods.Count == 0
            ? BenchmarkMethods.All
            : options.Methods.Select(name => BenchmarkMethods.All.FirstOrDefault(m => m.Name == name)
                ?? throw new ArgumentException($"unknown method '{name}'; known: {string.Join(", ", BenchmarkMethods.All.Select(m => m.Name))}")).ToList();
        int maxDomains = DomainCatalog.Domains.Count;
        foreach (var n in options.DomainCounts)
            if (n < 1 || n > maxDomains) throw new ArgumentException($"domain count {n} is outside 1..{maxDomains}");

        var general = GeneralSet.HeldOut(options.GeneralExamples);
        double generalBefore;
        using (var baseModel = ModelFolder.Load(baseModelFolder))
            generalBefore = ExactMatchEvaluator.Evaluate(baseModel.Model, baseModel.Tokenizer, general).Accuracy;
        Log?.Invoke($"base model general accuracy {generalBefore:P1}");

        var results = new List<MethodResult>();
        foreach (var n in options.DomainCounts)
        {
            var domains = DomainCatalog.Domains.Take(n).Select(d => d.Domain).ToList();
            var splits = domains.Select(d => DatasetSplit.Create(DomainCatalog.Get(d), options.TrainExamples, options.EvalExamples, options.Seed)).ToList();
            foreach (var method in methods)
            {
                cancellation.ThrowIfCancellationRequested();
                Log?.Invoke($"{n} domains: {method.Name}");
                var result = method.Shape switch
                {
                    RunShape.Joint => RunJoint(method, domains, splits, general, generalBefore, cancellation),
                    RunShape.Sequential => RunSequential(method, domains, splits, general, generalBefore, cancellation),
                    _ => RunPerDomain(method, domains, splits, general, generalBefore, cancellation),
                };
                Log?.Invoke($"  mean domain accuracy {result.MeanDomainAccuracy:P1}, general {result.GeneralAfter:P1} (forgetting {result.Forgetting:P1}), " +
                            $"steps to target {result.StepsToTarget?.ToString() ?? "not reached"}, {result.WallSeconds:F0} s");
                if (result.ValidationCurve.Count > 0)
                    Log?.Invoke("  held-out loss by step: " + string.Join(" ", result.ValidationCurve.Select(v => $"{v.Step}:{v.Loss:F2}")));
                results.Add(result);
            }
        }
        return results;
    }

    private AdaptationOptions OptionsFor(BenchmarkMethod method, int steps) => method.Options with
    {
        Steps = steps,
        BatchSize = options.BatchSize,
        LearningRate = options.LearningRate,
        Seed = options.Seed,
        LogEvery = int.MaxValue,
    };

    private MethodResult RunJoint(BenchmarkMethod method, List<string> domains, List<DatasetSplit> splits,
        IReadOnlyList<Example> general, double generalBefore, CancellationToken cancellation)
    {
        using var model = ModelFolder.Load(baseModelFolder);
        var run = new AdaptationTrainer(model.Model, model.Tokenizer, OptionsFor(method, options.StepsPerDomain * domains.Count))
            .Run(domains, splits.Select(s => s.Train).ToList(), cancellation: cancellation, validationSets: splits.Select(s => s.Eval).ToList(),
                generalReference: GeneralSet.PretrainSample(options.GeneralReferenceExamples));
        // Each method is measured as it would be served: a domain-routed model with its routing table when the domain is
        // named, through the no-domain path when it is not; every other model through its router alone either way.
        var sets = domains.Select((d, i) => new EvaluationSet(d, splits[i].Eval)).Append(new EvaluationSet(DomainCatalog.GeneralName, general)).ToList();
        var labelled = RoutedEvaluation.Evaluate(model.Model, model.Tokenizer, run.DomainRouted ? run.Assignment : null, NoDomainRouting.UnassignedExperts, sets);
        var unlabelled = run.DomainRouted ? RoutedEvaluation.EvaluateUnlabelled(model.Model, model.Tokenizer, run.Assignment, NoDomainRouting.UnassignedExperts, sets) : labelled;
        var accuracy = domains.ToDictionary(d => d, d => labelled[d].Accuracy);
        var withoutLabel = domains.ToDictionary(d => d, d => unlabelled[d].Accuracy);
        double generalAfter = labelled[DomainCatalog.GeneralName].Accuracy;
        var (steps, seconds) = Convergence(run.ValidationCurve);
        return new MethodResult(method.Name, domains, accuracy, withoutLabel, generalBefore, generalAfter, null, steps, seconds, run.Steps, run.WallSeconds,
            run.ValidationCurve.Select(v => (v.Step, v.Loss)).ToList());
    }

    private MethodResult RunSequential(BenchmarkMethod method, List<string> domains, List<DatasetSplit> splits,
        IReadOnlyList<Example> general, double generalBefore, CancellationToken cancellation)
    {
        using var model = ModelFolder.Load(baseModelFolder);
        var rightAfter = new List<double>();
        var curve = new List<(int, double, double)>();
        int offset = 0;
        double seconds = 0;
        for (int i = 0; i < domains.Count; i++)
        {
            var run = new AdaptationTrainer(model.Model, model.Tokenizer, OptionsFor(method, options.StepsPerDomain))
                .Run([domains[i]], [splits[i].Train], cancellation: cancellation, validationSets: [splits[i].Eval]);
            // Convergence is judged on all domains' held-out loss, as for the joint runs: here only the last point of each stage.
            curve.AddRange(run.ValidationCurve.Select(v => (v.Step + offset, v.Loss, v.Seconds + seconds)));
            offset += run.Steps;
            seconds += run.WallSeconds;
            rightAfter.Add(ExactMatchEvaluator.Evaluate(model.Model, model.Tokenizer, splits[i].Eval).Accuracy);
        }
        var accuracy = DomainAccuracy(model, domains, splits);
        double? earlierDrop = domains.Count > 1
            ? Enumerable.Range(0, domains.Count - 1).Average(i => rightAfter[i] - accuracy[domains[i]])
            : null;
        double generalAfter = ExactMatchEvaluator.Evaluate(model.Model, model.Tokenizer, general).Accuracy;
        return new MethodResult(method.Name, domains, accuracy, accuracy, generalBefore, generalAfter, earlierDrop, null, null, offset, seconds,
            curve.Select(v => (v.Item1, v.Item2)).ToList());
    }

    private MethodResult RunPerDomain(BenchmarkMethod method, List<string> domains, List<DatasetSplit> splits,
        IReadOnlyList<Example> general, double generalBefore, CancellationToken cancellation)
    {
        var accuracy = new Dictionary<string, double>();
        var generalAfter = new List<double>();
        var convergence = new List<int?>();
        double seconds = 0;
        for (int i = 0; i < domains.Count; i++)
        {
            using var model = ModelFolder.Load(baseModelFolder);
            var run = new AdaptationTrainer(model.Model, model.Tokenizer, OptionsFor(method, options.StepsPerDomain))
                .Run([domains[i]], [splits[i].Train], cancellation: cancellation, validationSets: [splits[i].Eval]);
            accuracy[domains[i]] = ExactMatchEvaluator.Evaluate(model.Model, model.Tokenizer, splits[i].Eval).Accuracy;
            generalAfter.Add(ExactMatchEvaluator.Evaluate(model.Model, model.Tokenizer, general).Accuracy);
            convergence.Add(Convergence(run.ValidationCurve).Steps);
            seconds += run.WallSeconds;
        }
        // One model per domain: general ability is the mean over the domain models.
        int? steps = convergence.All(c => c.HasValue) ? convergence.Sum() : null;
        return new MethodResult(method.Name, domains, accuracy, accuracy, generalBefore, generalAfter.Average(), null, steps, null,
            options.StepsPerDomain * domains.Count, seconds, []);
    }

    private static Dictionary<string, double> DomainAccuracy(LoadedModel model, List<string> domains, List<DatasetSplit> splits) =>
        domains.Select((d, i) => (d, ExactMatchEvaluator.Evaluate(model.Model, model.Tokenizer, splits[i].Eval).Accuracy))
            .ToDictionary(x => x.d, x => x.Accuracy);

    private (int? Steps, double? Seconds) Convergence(IReadOnlyList<(int Step, double Loss, double Seconds)> curve)
    {
        foreach (var (step, loss, seconds) in curve)
            if (loss <= options.TargetValidationLoss) return (step, seconds);
        return (null, null);
    }
}
