namespace DesMoe.Trainer.Comparison;

/// <summary>One method at one domain count.</summary>
/// <param name="DomainAccuracy">each domain's held-out accuracy with its domain label (a domain-routed model routes by it)</param>
/// <param name="UnlabelledAccuracy">the same sets with no label: the router alone decides (the paper's setting)</param>
/// <param name="GeneralAfter">the general set, always without a label</param>
public sealed record MethodResult(
    string Method,
    IReadOnlyList<string> Domains,
    IReadOnlyDictionary<string, double> DomainAccuracy,
    IReadOnlyDictionary<string, double> UnlabelledAccuracy,
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
    public double MeanUnlabelledAccuracy => UnlabelledAccuracy.Values.Average();
}
