using DesMoe.Core.Checkpoints;
using DesMoe.Core.Data;
using DesMoe.Core.Evaluation;
using DesMoe.Core.Model;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Trainer.Benchmark.Paper;

/// <summary>
/// The DES-MoE paper's comparison on one base model: every row of its Tables 1-3 and the points of Figures 2-3,
/// from the same base folder, data, step budget and learning rate. Domain scores of one-model-per-domain rows are
/// each model on its own domain; every other model is scored as served without a label (the router decides), except
/// the domain-routed variant's labelled row. General scores are always unlabelled.
/// </summary>
public sealed class PaperBenchmark(string baseModelFolder, IReadOnlyList<BenchmarkDomain> domains, IReadOnlyList<GeneralProbe> probes,
    IReadOnlyList<Example> generalReference, PaperOptions options)
{
    private sealed record Method(string Name, PaperSetting Setting, AdaptationOptions Options);

    private static readonly AdaptationOptions Fft = AdaptationOptions.For(AdaptationMethod.FullFineTuning);
    private static readonly AdaptationOptions DesMoe = AdaptationOptions.For(AdaptationMethod.DesMoe);
    private AdaptationOptions EsftToken => AdaptationOptions.For(AdaptationMethod.Esft) with { EsftScore = EsftScore.TokenSelectionRatio, EsftTopP = options.EsftTokenTopP };
    private AdaptationOptions EsftGate => AdaptationOptions.For(AdaptationMethod.Esft) with { EsftScore = EsftScore.GateScore, EsftTopP = options.EsftGateTopP };

    public const string DomainRoutedLabelled = "Domain-routed, labelled";
    public const string DomainRoutedUnlabelled = "Domain-routed, no label";

    public event Action<string>? Log;

    /// <summary>Rows whose spread over seeds the report gives.</summary>
    public static readonly string[] Headline = ["FFT", "ESFT-Gate", "DES-MoE"];

    public IReadOnlyList<PaperRow> Run(CancellationToken cancellation = default)
    {
        if (domains.Count == 0) throw new ArgumentException("no domains to compare on");
        foreach (var n in options.DomainCounts)
            if (n < 1 || n > domains.Count) throw new ArgumentException($"domain count {n} is outside 1..{domains.Count}");
        var rows = new List<PaperRow>();
        void Add(PaperRow row)
        {
            rows.Add(row);
            Log?.Invoke($"{row.Method} ({row.Setting}, {row.Domains.Count} domains, seed {row.Seed}): domain average {row.DomainAverage:P1}, " +
                        $"general average {row.General.Average:P1}, {row.WallSeconds:F0} s" + (row.SecondsToBest is { } s ? $", best validation at {s:F0} s" : ""));
        }

        Add(Untuned());
        var perDomain = new[] { new Method("FFT", PaperSetting.PerDomain, Fft), new Method("ESFT-Token", PaperSetting.PerDomain, EsftToken),
            new Method("ESFT-Gate", PaperSetting.PerDomain, EsftGate) };
        var mixed = new List<Method> { new("FFT", PaperSetting.Mixed, Fft), new("ESFT-Gate", PaperSetting.Mixed, EsftGate), new("DES-MoE", PaperSetting.Mixed, DesMoe) };
        if (options.Ablations)
            mixed.AddRange([
                new("DES-MoE w/o adaptive router", PaperSetting.Mixed, DesMoe with { AdaptiveRouter = false }),
                new("DES-MoE w/o expert-domain masks", PaperSetting.Mixed, DesMoe with { GradientIsolation = false }),
                new("DES-MoE w/o schedule", PaperSetting.Mixed, DesMoe with { ProgressiveSchedule = false }),
            ]);

        foreach (var seed in options.Seeds)
        {
            bool first = seed == options.Seeds[0];
            foreach (var method in perDomain.Where(m => first || Headline.Contains(m.Name)))
            {
                cancellation.ThrowIfCancellationRequested();
                Add(RunPerDomain(method, seed, cancellation));
            }
            foreach (var method in mixed.Where(m => first || Headline.Contains(m.Name)))
            {
                cancellation.ThrowIfCancellationRequested();
                Add(RunMixed(method, domains, seed, cancellation));
            }
            if (first)
                foreach (var row in RunDomainRouted(domains, seed, cancellation)) Add(row);
        }

        // Figure 2: general average against the number of domains (the full count is the tables' seed-1 row).
        foreach (var n in options.DomainCounts.Where(n => n < domains.Count))
            foreach (var method in mixed.Where(m => Headline.Contains(m.Name)))
            {
                cancellation.ThrowIfCancellationRequested();
                Add(RunMixed(method, domains.Take(n).ToList(), options.Seeds[0], cancellation));
            }
        return rows;
    }

    private AdaptationOptions For(AdaptationOptions method, int steps, int seed) => method with
    {
        Steps = steps,
        BatchSize = options.BatchSize,
        LearningRate = options.LearningRate,
        Seed = seed,
        LogEvery = int.MaxValue,
    };

    private PaperRow Untuned()
    {
        using var model = ModelFolder.Load(baseModelFolder);
        var scores = domains.ToDictionary(d => d.Name, d => Score(model, d, assignment: null, labelled: false));
        return new PaperRow("Untuned", PaperSetting.Untuned, 0, domains.Select(d => d.Name).ToList(), scores,
            GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes), 0, null);
    }

    private PaperRow RunPerDomain(Method method, int seed, CancellationToken cancellation)
    {
        var scores = new Dictionary<string, double>();
        var general = new List<GeneralScores>();
        double seconds = 0;
        foreach (var domain in domains)
        {
            using var model = ModelFolder.Load(baseModelFolder);
            var run = new AdaptationTrainer(model.Model, model.Tokenizer, For(method.Options, options.StepsPerDomain, seed))
                .Run([domain.Name], [domain.Train], cancellation: cancellation);
            seconds += run.WallSeconds;
            scores[domain.Name] = Score(model, domain, assignment: null, labelled: false);
            general.Add(GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes));
        }
        // One model per domain: each probe's score is the mean over the domain models.
        var mean = new GeneralScores(general[0].Scores.Keys.ToDictionary(p => p, p => general.Average(g => g.Scores[p])));
        return new PaperRow(method.Name, PaperSetting.PerDomain, seed, domains.Select(d => d.Name).ToList(), scores, mean, seconds, null);
    }

    private PaperRow RunMixed(Method method, IReadOnlyList<BenchmarkDomain> set, int seed, CancellationToken cancellation)
    {
        using var model = ModelFolder.Load(baseModelFolder);
        var run = Train(model, method.Options, set, seed, cancellation);
        var scores = set.ToDictionary(d => d.Name, d => Score(model, d, assignment: null, labelled: false));
        return new PaperRow(method.Name, PaperSetting.Mixed, seed, set.Select(d => d.Name).ToList(), scores,
            GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes), run.WallSeconds, SecondsToBest(run));
    }

    /// <summary>Our variant, trained once under domain routing, scored with the label and without it.</summary>
    private IEnumerable<PaperRow> RunDomainRouted(IReadOnlyList<BenchmarkDomain> set, int seed, CancellationToken cancellation)
    {
        using var model = ModelFolder.Load(baseModelFolder);
        var routed = AdaptationOptions.For(AdaptationMethod.DomainRouted);
        // The default pool (8 experts a layer) must leave the no-domain path at least top-k experts on small models.
        routed = routed with { AdaptableExperts = Math.Min(routed.AdaptableExperts, model.Config.NumRoutedExperts / 2) };
        var run = Train(model, routed, set, seed, cancellation);
        var general = GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes, run.Assignment);
        var names = set.Select(d => d.Name).ToList();
        var labelled = set.ToDictionary(d => d.Name, d => Score(model, d, run.Assignment, labelled: true));
        var unlabelled = set.ToDictionary(d => d.Name, d => Score(model, d, run.Assignment, labelled: false));
        return [
            new PaperRow(DomainRoutedLabelled, PaperSetting.Mixed, seed, names, labelled, general, run.WallSeconds, SecondsToBest(run)),
            new PaperRow(DomainRoutedUnlabelled, PaperSetting.Mixed, seed, names, unlabelled, general, run.WallSeconds, SecondsToBest(run)),
        ];
    }

    private AdaptationRun Train(LoadedModel model, AdaptationOptions method, IReadOnlyList<BenchmarkDomain> set, int seed, CancellationToken cancellation) =>
        new AdaptationTrainer(model.Model, model.Tokenizer, For(method, options.StepsPerDomain * set.Count, seed))
            .Run(set.Select(d => d.Name).ToList(), set.Select(d => d.Train).ToList(), cancellation: cancellation,
                validationSets: set.Select(d => d.Eval).ToList(), generalReference: generalReference);

    /// <summary>A domain's held-out score: through its routing row when labelled (domain-routed models), else the no-domain path.</summary>
    private static double Score(LoadedModel model, BenchmarkDomain domain, ExpertAssignment? assignment, bool labelled)
    {
        var set = new EvaluationSet(domain.Name, domain.Eval, domain.Metric);
        var result = labelled
            ? RoutedEvaluation.Evaluate(model.Model, model.Tokenizer, assignment, NoDomainRouting.UnassignedExperts, [set])
            : RoutedEvaluation.EvaluateUnlabelled(model.Model, model.Tokenizer, assignment, NoDomainRouting.UnassignedExperts, [set]);
        return result[domain.Name].Score;
    }

    /// <summary>Wall-clock seconds to the validation point with the lowest held-out loss (the paper's "convergence").</summary>
    private static double? SecondsToBest(AdaptationRun run) =>
        run.ValidationCurve.Count == 0 ? null : run.ValidationCurve.MinBy(v => v.Loss).Seconds;
}
