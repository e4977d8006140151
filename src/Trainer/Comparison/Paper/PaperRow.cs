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
    /// <summary>A run of the learning-rate grid (mixed, Figure 2's smallest count); the chosen rate's run is also a <see cref="Mixed"/> row.</summary>
    LearningRateTrial,
}

/// <summary>One method's measurement: a row of Tables 1-3 (at all domains) or a point of Figure 2 (at fewer).</summary>
/// <param name="DomainScores">each domain's held-out score (exact match, ROUGE-L F1 for summarisation), 0..1</param>
/// <param name="General">the general probes, always without a domain label</param>
/// <param name="SecondsToBest">mixed runs: wall-clock seconds to the validation point with the lowest held-out loss</param>
/// <param name="BestValidationLoss">mixed runs: that point's mean held-out loss over the domains (nats per token)</param>
public sealed record PaperRow(string Method, PaperSetting Setting, int Seed, IReadOnlyList<string> Domains,
    IReadOnlyDictionary<string, double> DomainScores, GeneralScores General, double WallSeconds, double? SecondsToBest,
    double? BestValidationLoss = null)
{
    /// <summary>The peak learning rate the row's models were trained at (0 for the untuned model).</summary>
    public double LearningRate { get; init; }

    public double DomainAverage => DomainScores.Count == 0 ? double.NaN : DomainScores.Values.Average();
}
