using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Files;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Evaluation;
using DesMoe.Trainer.Adaptation;
using DesMoe.Trainer.Evaluation;

namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>
/// The DES-MoE paper's comparison on one base model, as a reviewer would accept it: every method trained at every
/// rate of one grid (relative to the base's pre-training peak), each run ending on its best validation point, the
/// tuned rate per method chosen on validation, scores on the test split. The tuned rates then run the remaining
/// seeds, the ablations and Figure 2's domain counts. Every job's result is cached in the output folder, so a run
/// stopped anywhere continues where it stopped.
/// </summary>
/// <param name="basePeakRate">the base model's pre-training peak learning rate (the grid's unit)</param>
/// <param name="outputFolder">where <c>runs/</c> keeps each job's result</param>
public sealed class PaperBenchmark(string baseModelFolder, IReadOnlyList<BenchmarkDomain> domains, IReadOnlyList<GeneralProbe> probes,
    IReadOnlyList<Example> generalReference, PaperOptions options, double basePeakRate, string outputFolder)
{
    public event Action<string>? Log;
    public event Action<ComparisonProgress>? Progress;

    /// <summary>Scoring costs about as much as this many training steps per domain scored (and once more for the probes); only the ETA uses it.</summary>
    private const int ScoringCostInSteps = 12;

    private readonly ResultCache _cache = new(outputFolder);
    private readonly Stopwatch _clock = new();
    private string _modelHash = "", _probeHash = "";
    private Dictionary<string, string> _domainHashes = [];
    private int _jobsDone, _jobsTotal, _jobsCached;
    private double _costDone, _costTotal, _costRunHere;

    private IReadOnlyList<string> AllDomains => domains.Select(d => d.Name).ToList();
    private int ValidateEvery(int steps) => Math.Max(1, steps / options.ValidationPoints);
    /// <summary>A tenth of the run warms the rate up (adapt's fixed 20 steps would be half of a 40-step per-domain run).</summary>
    private static int WarmupSteps(int steps) => Math.Max(1, steps / 10);

    public IReadOnlyList<PaperRow> Run(CancellationToken cancellation = default)
    {
        if (domains.Count == 0) throw new ArgumentException("no domains to compare on");
        if (options.Problem(domains.Count) is { } problem) throw new ArgumentException(problem);
        if (!(basePeakRate > 0)) throw new ArgumentOutOfRangeException(nameof(basePeakRate), basePeakRate, "the base model's pre-training peak rate must be positive");
        _clock.Restart();
        _modelHash = ModelFiles.WeightsSha256(baseModelFolder) + Hash(File.ReadAllText(Path.Combine(baseModelFolder, "config.json")));
        _domainHashes = domains.ToDictionary(d => d.Name, DomainHash);
        _probeHash = ProbeHash();

        var methods = ComparedMethods.For(options);
        var grid = GridJobs(methods);
        var tunedTemplates = TunedJobs(methods, _ => 0).ToList(); // the tuned stage's shape; rates come from the grid
        _jobsTotal = 1 + grid.Count + tunedTemplates.Count;
        _costTotal = Cost(domains.Count) + grid.Sum(Cost) + tunedTemplates.Sum(Cost);

        var untuned = Untuned();
        var results = new Dictionary<ComparisonJob, JobResult>();
        foreach (var job in grid) results[job] = Execute(job, cancellation);

        var rates = TunedRates(methods, grid, results);
        foreach (var (key, rate) in rates) Log?.Invoke($"{key.Name} ({key.Setting}): tuned rate {rate:G3}x (lowest validation loss of the grid)");
        foreach (var job in TunedJobs(methods, m => rates[m.RateOf])) results[job] = Execute(job, cancellation);
        if (options.PruneUnusedRuns && _cache.PruneUnused() is > 0 and var pruned)
            Log?.Invoke($"deleted {pruned} cached result(s) this run did not use from {_cache.Folder}");
        return Rows(untuned, methods, rates, results);
    }

    // ---- the plan ---------------------------------------------------------------------------------------------------

    /// <summary>Every on-grid method at every rate, first seed, all domains (per-domain methods: one job per domain).</summary>
    private List<ComparisonJob> GridJobs(IReadOnlyList<ComparedMethod> methods) =>
        methods.Where(m => m.OnGrid)
            .SelectMany(m => options.RelativeRates.SelectMany(rate => Jobs(m, AllDomains, rate, options.Seeds[0])))
            .ToList();

    /// <summary>What runs at the tuned rates: the other seeds of the compared rows, the ablations, Figure 2's smaller counts.</summary>
    private IEnumerable<ComparisonJob> TunedJobs(IReadOnlyList<ComparedMethod> methods, Func<ComparedMethod, double> tunedRate)
    {
        foreach (var seed in options.Seeds.Skip(1))
            foreach (var m in methods.Where(m => ComparedMethods.Seeded.Contains(m.Key)))
                foreach (var job in Jobs(m, AllDomains, tunedRate(m), seed)) yield return job;
        foreach (var m in methods.Where(m => !m.OnGrid))
            foreach (var job in Jobs(m, AllDomains, tunedRate(m), options.Seeds[0])) yield return job;
        foreach (var count in options.DomainCounts.Where(n => n < domains.Count).Distinct().Order())
            foreach (var m in methods.Where(m => m.Setting == PaperSetting.Mixed && ComparedMethods.Headline.Contains(m.Name)))
                foreach (var job in Jobs(m, AllDomains.Take(count).ToList(), tunedRate(m), options.Seeds[0])) yield return job;
    }

    private IEnumerable<ComparisonJob> Jobs(ComparedMethod method, IReadOnlyList<string> set, double relativeRate, int seed) =>
        method.Setting == PaperSetting.PerDomain
            ? set.Select(d => new ComparisonJob(method, [d], relativeRate, relativeRate * basePeakRate, seed, options.StepsPerDomain))
            : [new ComparisonJob(method, set, relativeRate, relativeRate * basePeakRate, seed, options.StepsPerDomain * set.Count)];

    private static double Cost(ComparisonJob job) => job.Steps + ScoringCostInSteps * (job.Domains.Count + 1);
    private static double Cost(int domainsScored) => ScoringCostInSteps * (domainsScored + 1);

    /// <summary>Per on-grid method, the relative rate whose runs reached the lowest validation loss (per-domain: the mean over the models).</summary>
    private Dictionary<(string Name, PaperSetting Setting), double> TunedRates(IReadOnlyList<ComparedMethod> methods, List<ComparisonJob> grid,
        Dictionary<ComparisonJob, JobResult> results)
    {
        var rates = new Dictionary<(string, PaperSetting), double>();
        foreach (var method in methods.Where(m => m.OnGrid))
            rates[method.Key] = options.RelativeRates.MinBy(rate =>
                grid.Where(j => j.Method == method && j.RelativeRate == rate).Average(j => results[j].BestValidationLoss ?? double.PositiveInfinity));
        return rates;
    }

    // ---- running and scoring a job ----------------------------------------------------------------------------------

    private JobResult Untuned()
    {
        var key = Hash($"untuned\n{_modelHash}\n{DataHash(AllDomains)}");
        var result = _cache.TryGet(key);
        bool cached = result is not null;
        if (result is null)
        {
            var clock = Stopwatch.StartNew();
            using var model = ModelFolder.Load(baseModelFolder);
            result = new JobResult(domains.ToDictionary(d => d.Name, d => Score(model, d, assignment: null, labelled: false)), null,
                GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes).Scores, clock.Elapsed.TotalSeconds, 0, null, null, null) { Job = "untuned" };
            _cache.Put(key, result);
        }
        Finished(Cost(domains.Count), cached, "untuned");
        return result;
    }

    private JobResult Execute(ComparisonJob job, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var key = job.Key(_modelHash, DataHash(job.Domains), options.BatchSize, ValidateEvery(job.Steps));
        if (_cache.TryGet(key) is { } cached)
        {
            Finished(Cost(job), cached: true, job.Describe());
            return cached;
        }
        Report(job.Describe());
        var result = Train(job, cancellation) with { Job = job.Describe() };
        _cache.Put(key, result);
        Log?.Invoke($"{job.Describe()}: test {Percent(result.Test.Values.Average())}, general {Percent(result.General.Values.Average())}, " +
                    $"best step {result.BestStep}/{result.Steps}, {result.WallSeconds:F0} s");
        Finished(Cost(job), cached: false, job.Describe());
        return result;
    }

    private JobResult Train(ComparisonJob job, CancellationToken cancellation)
    {
        var set = job.Domains.Select(name => domains.Single(d => d.Name == name)).ToList();
        var method = job.Method.Options;
        // The default pool (8 experts a layer) must leave the no-domain path at least top-k experts on small models.
        using var model = ModelFolder.Load(baseModelFolder);
        if (job.Method.DomainRouted)
            method = method with { AdaptableExperts = Math.Min(method.AdaptableExperts, model.Config.NumRoutedExperts / 2) };
        var trainer = new AdaptationTrainer(model.Model, model.Tokenizer, method with
        {
            Steps = job.Steps, BatchSize = options.BatchSize, LearningRate = job.LearningRate, Seed = job.Seed, LogEvery = int.MaxValue,
            ValidateEvery = ValidateEvery(job.Steps), KeepBestValidation = true, WarmupLearningRateSteps = WarmupSteps(job.Steps),
        });
        var run = trainer.Run(set.Select(d => d.Name).ToList(), set.Select(d => d.Train).ToList(), cancellation: cancellation,
            validationSets: set.Select(d => d.Validation).ToList(), generalReference: generalReference);

        var assignment = run.DomainRouted ? run.Assignment : null;
        var test = set.ToDictionary(d => d.Name, d => Score(model, d, assignment, labelled: false));
        var labelled = run.DomainRouted ? set.ToDictionary(d => d.Name, d => Score(model, d, assignment, labelled: true)) : null;
        var general = GeneralProbes.Evaluate(model.Model, model.Tokenizer, probes, assignment).Scores;
        var best = run.ValidationCurve.Count == 0 ? ((int Step, double Loss, double Seconds)?)null : run.ValidationCurve.MinBy(v => v.Loss);
        return new JobResult(test, labelled, general, run.WallSeconds, run.Steps, run.BestStep, best?.Loss, best?.Seconds);
    }

    /// <summary>A domain's test score: through its routing row when labelled (domain-routed models), else the no-domain path.</summary>
    private static double Score(LoadedModel model, BenchmarkDomain domain, ExpertAssignment? assignment, bool labelled)
    {
        var set = new EvaluationSet(domain.Name, domain.Test, domain.Metric);
        var result = labelled
            ? RoutedEvaluation.Evaluate(model.Model, model.Tokenizer, assignment, NoDomainRouting.UnassignedExperts, [set])
            : RoutedEvaluation.EvaluateUnlabelled(model.Model, model.Tokenizer, assignment, NoDomainRouting.UnassignedExperts, [set]);
        return result[domain.Name].Score;
    }

    // ---- progress ---------------------------------------------------------------------------------------------------

    private void Finished(double cost, bool cached, string what)
    {
        _jobsDone++;
        _costDone += cost;
        if (cached) _jobsCached++;
        else _costRunHere += cost;
        Report(what);
    }

    private void Report(string current)
    {
        TimeSpan? remaining = _costRunHere > 0 ? TimeSpan.FromSeconds(_clock.Elapsed.TotalSeconds / _costRunHere * (_costTotal - _costDone)) : null;
        Progress?.Invoke(new ComparisonProgress(_jobsDone, _jobsTotal, _jobsCached, _costDone / _costTotal, _clock.Elapsed, remaining, current));
    }

    private static string Percent(double value) => $"{100 * value:F1}";

    // ---- rows -------------------------------------------------------------------------------------------------------

    private IReadOnlyList<PaperRow> Rows(JobResult untuned, IReadOnlyList<ComparedMethod> methods,
        Dictionary<(string Name, PaperSetting Setting), double> rates, Dictionary<ComparisonJob, JobResult> results)
    {
        var rows = new List<PaperRow>
        {
            new("Untuned", PaperSetting.Untuned, 0, AllDomains, untuned.Test, new GeneralScores(untuned.General), 0, null),
        };
        // One row per (method, domain set, rate, seed): a per-domain row gathers its domain models.
        foreach (var group in results.GroupBy(kv => (kv.Key.Method, Set: string.Join(",", kv.Key.Method.Setting == PaperSetting.PerDomain ? [] : kv.Key.Domains),
                     kv.Key.RelativeRate, kv.Key.Seed)))
        {
            var jobs = group.ToList();
            var method = group.Key.Method;
            bool tuned = group.Key.RelativeRate == rates[method.RateOf];
            var first = jobs[0].Key;
            var names = jobs.SelectMany(j => j.Key.Domains).ToList();
            var general = new GeneralScores(probes.ToDictionary(p => p.Name, p => jobs.Average(j => j.Value.General[p.Name])));
            var bestSteps = method.Setting == PaperSetting.PerDomain
                ? jobs.ToDictionary(j => j.Key.Domains[0], j => j.Value.BestStep)
                : new Dictionary<string, int?> { [string.Join("+", names)] = jobs[0].Value.BestStep };
            PaperRow Row(string name, IReadOnlyDictionary<string, double> scores, bool labelled) =>
                new PaperRow(name, method.Setting, first.Seed, names, scores, general, jobs.Sum(j => j.Value.WallSeconds),
                    method.Setting == PaperSetting.Mixed ? jobs[0].Value.SecondsToBest : null, jobs.Average(j => j.Value.BestValidationLoss ?? double.NaN))
                {
                    LearningRate = first.LearningRate, RelativeRate = first.RelativeRate, Tuned = tuned, Labelled = labelled, Steps = first.Steps, BestSteps = bestSteps,
                };
            var unlabelled = jobs.SelectMany(j => j.Value.Test).ToDictionary(kv => kv.Key, kv => kv.Value);
            if (method.DomainRouted)
            {
                rows.Add(Row(ComparedMethods.DomainRoutedLabelled, jobs[0].Value.LabelledTest!, labelled: true));
                rows.Add(Row(ComparedMethods.DomainRoutedUnlabelled, unlabelled, labelled: false));
            }
            else rows.Add(Row(method.Name, unlabelled, labelled: false));
        }
        return rows;
    }

    // ---- cache keys -------------------------------------------------------------------------------------------------

    /// <summary>A job's data: its own domains' splits, the probes and the general reference (so replacing one domain keeps the others' per-domain results).</summary>
    private string DataHash(IEnumerable<string> names) => Hash(string.Join(",", names.Select(n => _domainHashes[n])) + "|" + _probeHash);

    private static string DomainHash(BenchmarkDomain d)
    {
        var text = new StringBuilder(d.Name).Append('/').Append(d.Metric).Append('\n');
        foreach (var (split, examples) in new[] { ("train", d.Train), ("validation", d.Validation), ("test", d.Test) })
            Append(text.Append(split).Append('\n'), examples);
        return Hash(text.ToString());
    }

    private string ProbeHash()
    {
        var text = new StringBuilder();
        foreach (var p in probes) Append(text.Append(p.Name).Append('/').Append(p.Kind).Append('\n'), p.Examples);
        return Hash(Append(text, generalReference).ToString());
    }

    /// <summary>Each example's prompt and completion, with separators no text contains.</summary>
    private static StringBuilder Append(StringBuilder text, IEnumerable<Example> examples)
    {
        foreach (var e in examples) text.Append(e.Prompt).Append('\u0001').Append(e.Completion).Append('\u0002');
        return text;
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..24];
}
