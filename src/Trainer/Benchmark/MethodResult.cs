namespace DesMoe.Trainer.Benchmark;

/// <summary>One method at one domain count.</summary>
public sealed record MethodResult(
    string Method,
    IReadOnlyList<string> Domains,
    IReadOnlyDictionary<string, double> DomainAccuracy,
    double GeneralBefore,
    double GeneralAfter,
    /// <summary>Sequential runs: mean drop of each earlier domain's accuracy from right after its own training to the end.</summary>
    double? EarlierDomainDrop,
    int? StepsToTarget,
    double? SecondsToTarget,
    int Steps,
    double WallSeconds,
    IReadOnlyList<(int Step, double Loss)> ValidationCurve)
{
    public double Forgetting => GeneralBefore - GeneralAfter;
    public double MeanDomainAccuracy => DomainAccuracy.Values.Average();
}
