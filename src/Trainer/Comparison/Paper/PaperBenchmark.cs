using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Trainer.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>
/// The DES-MoE paper's comparison on one base model: every row of its Tables 1-3 and the points of Figures 2-3,
/// from the same base folder, data and step budget, each method at the learning rate its grid chose. Domain scores of
/// one-model-per-domain rows are each model on its own domain; every other model is scored as served without a label
/// (the router decides), except the domain-routed variant's labelled row. General scores are always unlabelled.
/// </summary>
public sealed class PaperBenchmark(string baseModelFolder, IReadOnlyList<BenchmarkDomain> domains, IReadOnlyList<GeneralProbe> probes,
    IReadOnlyList<Example> generalReference, PaperOptions options)
{
    /// <param name="RateOf">the headline method whose tuned learning rate this one uses</param>
    private sealed record Method(string Name, PaperSetting Setting, AdaptationOptions Options, string RateOf);

    private static readonly AdaptationOptions Fft = AdaptationOptions.For(AdaptationMethod.FullFineTuning);
    private static readonly AdaptationOptions DesMoe = AdaptationOptions.For(AdaptationMethod.DesMoe);
    private AdaptationOptions EsftToken => AdaptationOptions.For(AdaptationMethod.Esft) with { EsftScore = EsftScore.TokenSelectionRatio, EsftTopP = options.EsftTokenTopP };
    private AdaptationOptions EsftGate => AdaptationOptions.For(AdaptationMethod.Esft) with { EsftScore = EsftScore.GateScore, EsftTopP = options.EsftGateTopP };

    public const string DomainRoutedLabelled = "Domain-routed, labelled";
    public const string DomainRoutedUnlabelled = "Domain-routed, no label";

    public event Action<string>? Log;

    /// <summary>Figure 2's methods, and the ones whose learning rate the grid tunes.</summary>
    public static readonly string[] Headline = ["FFT", "ESFT-Gate", "DES-MoE"];

    /// <summary>Table 3's rows (beside DES-MoE and ESFT-Gate mixed, which they change).</summary>
    public static readonly string[] Ablations = ["DES-MoE w/o adaptive router", "DES-MoE w/o expert-domain masks", "DES-MoE w/o schedule", "ESFT-Gate + adaptive router"];

    /// <summary>The rows the paper's targets compare, run at every seed (the rest at the first).</summary>
    public static readonly (string Method, PaperSetting Setting)[] Seeded = [("FFT", PaperSetting.PerDomain), ("DES-MoE", PaperSetting.Mixed)];

    public IReadOnlyList<PaperRow> Run(CancellationToken cancellation = default)
    {
        if (domains.Count == 0) throw new ArgumentException("no domains to compare on");
        foreach (var n in options.DomainCounts)
            if (n < 1 || n > domains.Count) throw new ArgumentException($"domain count {n} is outside 1..{domains.Count}");
        if (options.LearningRateGrid.Count == 0 || options.LearningRateGrid.Any(r => r <= 0 || double.IsNaN(r)))
            throw new ArgumentException($"the learning-rate grid must hold positive rates (got [{string.Join(", ", options.LearningRateGrid)}])");
        var rows = new List<PaperRow>();
        void Add(PaperRow row)
        {
            rows.Add(row);
            Log?.Invoke($"{row.Method} ({row.Setting}, {row.Domains.Count} domains, seed {row.Seed}, lr {row.LearningRate:G2}): domain average {row.DomainAverage:P1}, " +
                        $"general average {row.General.Average:P1}, {row.WallSeconds:F0} s" + (row.SecondsToBest is { } s ? $", best validation at {s:F0} s" : ""));
        }
        bool Done(string method, int count, int seed) =>
            rows.Any(r => r.Setting == PaperSetting.Mixed && r.Method == method && r.Domains.Count == count && r.Seed == seed);

        Add(Untuned());
        var perDomain = new[] { new Method("FFT", PaperSetting.PerDomain, Fft, "FFT"), new Method("ESFT-Token", PaperSetting.PerDomain, EsftToken, "ESFT-Gate"),
            new Method("ESFT-Gate", PaperSetting.PerDomain, EsftGate, "ESFT-Gate") };
        var mixed = new List<Method> { new("FFT", PaperSetting.Mixed, Fft, "FFT"), new("ESFT-Gate", PaperSetting.Mixed, EsftGate, "ESFT-Gate"),
            new("DES-MoE", PaperSetting.Mixed, DesMoe, "DES-MoE") };
        var headline = mixed.ToList();
        if (options.Ablations)
            mixed.AddRange([
                new(Ablations[0], PaperSetting.Mixed, DesMoe with { AdaptiveRouter = false }, "DES-MoE"),
                new(Ablations[1], PaperSetting.Mixed, DesMoe with { GradientIsolation = false }, "DES-MoE"),
                new(Ablations[2], PaperSetting.Mixed, DesMoe with { ProgressiveSchedule = false }, "DES-MoE"),
                new(Ablations[3], PaperSetting.Mixed, EsftGate with { EsftAdaptiveRouter = true }, "ESFT-Gate"),
            ]);

        int firstSeed = options.Seeds[0];
        var rates = TuneLearningRates(headline, firstSeed, Add, cancellation);
        foreach (var seed in options.Seeds)
        {
            bool first = seed == firstSeed;
            foreach (var method in perDomain.Where(m => first || Seeded.Contains((m.Name, m.Setting))))
            {
                cancellation.ThrowIfCancellationRequested();
                Add(RunPerDomain(method, rates[method.RateOf], seed, cancellation));
            }
            foreach (var method in mixed.Where(m => (first || Seeded.Contains((m.Name, m.Setting))) && !Done(m.Name, domains.Count, seed)))
            {
                cancellation.ThrowIfCancellationRequested();
                Add(RunMixed(method, domains, rates[method.RateOf], seed, cancellation));
            }
            if (first)
                foreach (var row in RunDomainRouted(domains, rates["DES-MoE"], seed, cancellation)) Add(row);
        }

        // Figure 2: general average against the number of domains (the full count is the tables' first-seed row).
        foreach (var n in options.DomainCounts)
            foreach (var method in headline.Where(m => !Done(m.Name, n, firstSeed)))
            {
                cancellation.ThrowIfCancellationRequested();
                Add(RunMixed(method, domains.Take(n).ToList(), rates[method.RateOf], firstSeed, cancellation));
            }
        return rows;
    }

    /// <summary>
    /// Each headline method, mixed on Figure 2's smallest domain count, at every rate of the grid: the rate with the lowest
    /// held-out domain loss (at its best validation point) is the method's. That run is also Figure 2's point.
    /// </summary>
    private Dictionary<string, double> TuneLearningRates(IReadOnlyList<Method> headline, int seed, Action<PaperRow> add, CancellationToken cancellation)
    {
        var grid = options.LearningRateGrid;
        if (grid.Count == 1) return headline.ToDictionary(m => m.Name, _ => grid[0]);
        var set = domains.Take(options.DomainCounts.Min()).ToList();
        var rates = new Dictionary<string, double>();
        foreach (var method in headline)
        {
            PaperRow? best = null;
            foreach (var rate in grid)
            {
                cancellation.ThrowIfCancellationRequested();
                var trial = RunMixed(method, set, rate, seed, cancellation) with { Setting = PaperSetting.LearningRateTrial };
                add(trial);
                if (best is null || trial.BestValidationLoss < best.BestValidationLoss) best = trial;
            }
            rates[method.Name] = best!.LearningRate;
            Log?.Invoke($"{method.Name}: learning rate {best.LearningRate:G2} (held-out loss {best.BestValidationLoss:F3} on {set.Count} domains)");
            add(best with { Setting = PaperSetting.Mixed });
        }
        return rates;
    }

    private AdaptationOptions For(AdaptationOptions method, int steps, double learningRate, int seed) => method with
    {
        Steps = steps,
        BatchSize = options.BatchSize,
        LearningRate = learningRate,
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

    private PaperRow RunPerDomain(Method method, double learningRate, int seed, CancellationToken cancellation)
    {
        var scores = new Dictionary<string, double>();
        var general = new List<GeneralScores>();
        double seconds = 0;
        foreach (var domain in domains)
        {
            using var model = ModelFolder.Load(baseModelFolder);
            var run = new AdaptationTrainer(model.Model, model.Tokenizer, For(method.Options, options.StepsPerDomain, learningRate, seed))
                .Run([domain.Name], [domain.Train], cancellation: cancellation);
            seconds += run.WallSeconds;
            scores[domain.Name] = Score(model, domain, assignment: null, labelled: false);
            general.Add(GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes));
        }
        // One model per domain: each probe's score is the mean over the domain models.
        var mean = new GeneralScores(general[0].Scores.Keys.ToDictionary(p => p, p => general.Average(g => g.Scores[p])));
        return new PaperRow(method.Name, PaperSetting.PerDomain, seed, domains.Select(d => d.Name).ToList(), scores, mean, seconds, null)
            { LearningRate = learningRate };
    }

    private PaperRow RunMixed(Method method, IReadOnlyList<BenchmarkDomain> set, double learningRate, int seed, CancellationToken cancellation)
    {
        using var model = ModelFolder.Load(baseModelFolder);
        var run = Train(model, method.Options, set, learningRate, seed, cancellation);
        var scores = set.ToDictionary(d => d.Name, d => Score(model, d, assignment: null, labelled: false));
        return new PaperRow(method.Name, PaperSetting.Mixed, seed, set.Select(d => d.Name).ToList(), scores,
            GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes), run.WallSeconds, SecondsToBest(run), BestLoss(run)) { LearningRate = learningRate };
    }

    /// <summary>Our variant, trained once under domain routing, scored with the label and without it.</summary>
    private IEnumerable<PaperRow> RunDomainRouted(IReadOnlyList<BenchmarkDomain> set, double learningRate, int seed, CancellationToken cancellation)
    {
        using var model = ModelFolder.Load(baseModelFolder);
        var routed = AdaptationOptions.For(AdaptationMethod.DomainRouted);
        // The default pool (8 experts a layer) must leave the no-domain path at least top-k experts on small models.
        routed = routed with { AdaptableExperts = Math.Min(routed.AdaptableExperts, model.Config.NumRoutedExperts / 2) };
        var run = Train(model, routed, set, learningRate, seed, cancellation);
        var general = GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes, run.Assignment);
        var names = set.Select(d => d.Name).ToList();
        var labelled = set.ToDictionary(d => d.Name, d => Score(model, d, run.Assignment, labelled: true));
        var unlabelled = set.ToDictionary(d => d.Name, d => Score(model, d, run.Assignment, labelled: false));
        return [
            new PaperRow(DomainRoutedLabelled, PaperSetting.Mixed, seed, names, labelled, general, run.WallSeconds, SecondsToBest(run), BestLoss(run)) { LearningRate = learningRate },
            new PaperRow(DomainRoutedUnlabelled, PaperSetting.Mixed, seed, names, unlabelled, general, run.WallSeconds, SecondsToBest(run), BestLoss(run)) { LearningRate = learningRate },
        ];
    }

    private AdaptationRun Train(LoadedModel model, AdaptationOptions method, IReadOnlyList<BenchmarkDomain> set, double learningRate, int seed,
        CancellationToken cancellation) =>
        new AdaptationTrainer(model.Model, model.Tokenizer, For(method, options.StepsPerDomain * set.Count, learningRate, seed))
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

    private static double? BestLoss(AdaptationRun run) => run.ValidationCurve.Count == 0 ? null : run.ValidationCurve.Min(v => v.Loss);
}
