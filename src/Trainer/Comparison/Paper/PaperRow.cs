using DesMoe.Trainer.Evaluation;

namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>Where a row's models came from.</summary>
public enum PaperSetting
{
    /// <summary>The base model, not adapted.</summary>
    Untuned,
    /// <summary>One model per domain, each trained on its domain alone; general scores are the mean over the models.</summary>
    PerDomain,
    /// <summary>One model trained on every domain at once (equal shares).</summary>
    Mixed,
}

/// <summary>One method at one rate and seed: a row of Tables 1-3, a point of Figure 2 (at fewer domains) or of the frontier.</summary>
/// <param name="DomainScores">each domain's test score (exact match, ROUGE-L F1 for summarisation), 0..1</param>
/// <param name="General">the general probes, always without a domain label</param>
/// <param name="SecondsToBest">mixed runs: wall-clock seconds to the validation point with the lowest loss</param>
/// <param name="BestValidationLoss">the validation loss at the best point (nats per token; per-domain rows: the mean over the models)</param>
public sealed record PaperRow(string Method, PaperSetting Setting, int Seed, IReadOnlyList<string> Domains,
    IReadOnlyDictionary<string, double> DomainScores, GeneralScores General, double WallSeconds, double? SecondsToBest,
    double? BestValidationLoss = null)
{
    /// <summary>The peak learning rate the row's models were trained at (0 for the untuned model).</summary>
    public double LearningRate { get; init; }
    /// <summary><see cref="LearningRate"/> as a multiple of the base model's pre-training peak.</summary>
    public double RelativeRate { get; init; }
    /// <summary>Trained at the method's tuned rate (the lowest validation loss of its grid, or the rate it takes from another method).</summary>
    public bool Tuned { get; init; }
    /// <summary>Scored with the domain label (the domain-routed variant's labelled row); every other row routes without one.</summary>
    public bool Labelled { get; init; }
    /// <summary>Optimizer steps of each model.</summary>
    public int Steps { get; init; }
    /// <summary>The step whose weights were scored, per model (one entry, keyed by every domain, for a mixed row).</summary>
    public IReadOnlyDictionary<string, int?> BestSteps { get; init; } = new Dictionary<string, int?>();

    /// <summary>Some model's best validation point was its last step: it had not converged within the budget.</summary>
    public bool BestIsLast => BestSteps.Values.Any(s => s == Steps);

    public double DomainAverage => DomainScores.Count == 0 ? double.NaN : DomainScores.Values.Average();
}
