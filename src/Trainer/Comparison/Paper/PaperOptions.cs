namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>
/// Settings of the paper's comparison (Tables 1-3, Figures 2-3, and the learning-forgetting frontier). Every method
/// gets the same data and the same step budget per domain, and is trained at every rate of one grid stated relative
/// to the base model's pre-training peak; each method's tuned rate is the one with the lowest validation loss, and
/// every run ends on its best validation point. Scores are on the test split.
/// </summary>
public sealed record PaperOptions
{
    /// <summary>
    /// Optimizer steps per domain: a run over N domains takes N times this. 50 is what base-v2 needs to learn the
    /// prepared domains with one model per domain (docs/domains.md: math 27.8% and medicine 19.2% at 50 steps, up from 0).
    /// </summary>
    public int StepsPerDomain { get; init; } = 50;
    public int BatchSize { get; init; } = 16;
    /// <summary>
    /// Peak learning rates as multiples of the base model's pre-training peak. The paper tunes over {1e-5, 3e-5, 1e-4,
    /// 3e-4} for DeepSeek-V2-Lite, whose pre-training peak was 4.2e-4: 0.024x, 0.071x, 0.24x and 0.71x.
    /// </summary>
    public IReadOnlyList<double> RelativeRates { get; init; } = [0.024, 0.071, 0.24, 0.71];
    /// <summary>Training examples per domain (the first of the prepared set).</summary>
    public int TrainExamples { get; init; } = 2000;
    /// <summary>Validation examples and test examples per domain (each).</summary>
    public int HeldOutExamples { get; init; } = 50;
    /// <summary>Held-out examples per general probe.</summary>
    public int ProbeExamples { get; init; } = 50;
    /// <summary>Validation points per run (the best one's weights are scored).</summary>
    public int ValidationPoints { get; init; } = 6;
    /// <summary>
    /// Figure 2's domain counts: the first N domains, for FFT, ESFT-Gate and DES-MoE mixed at their tuned rates (2 and 6
    /// are the third target's; 3 and 5 would add 35 minutes on 2 cores).
    /// </summary>
    public IReadOnlyList<int> DomainCounts { get; init; } = [2, 4, 6];
    /// <summary>Seeds of the rows the targets compare (<see cref="ComparedMethods.Seeded"/>); the first also runs every other row.</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [1, 2, 3];
    /// <summary>Run the ablations (Table 3), at DES-MoE's (ESFT-Gate's) tuned rate.</summary>
    public bool Ablations { get; init; } = true;
    /// <summary>After a complete run, delete cached results it did not use (see <see cref="ResultCache.PruneUnused"/>).</summary>
    public bool PruneUnusedRuns { get; init; }
    /// <summary>Run ESFT one model per domain (both scores) beside FFT's.</summary>
    public bool PerDomainEsft { get; init; } = true;
    /// <summary>Run our domain-routed variant (labelled and unlabelled rows).</summary>
    public bool DomainRouted { get; init; } = true;
    /// <summary>ESFT's cumulative-score threshold p: 0.2 for the token score, 0.1 for the gate score (the paper's).</summary>
    public double EsftTokenTopP { get; init; } = 0.2;
    public double EsftGateTopP { get; init; } = 0.1;

    /// <summary>
    /// The checking subset (under 20 minutes on 2 cores): the rows the targets compare (FFT per domain; FFT,
    /// ESFT-Gate and DES-MoE mixed) at one rate and seed over all domains, fewer examples.
    /// </summary>
    public static PaperOptions Quick { get; } = new()
    {
        StepsPerDomain = 20,
        RelativeRates = [0.24],
        HeldOutExamples = 30,
        ProbeExamples = 30,
        DomainCounts = [6],
        Seeds = [1],
        Ablations = false,
        PerDomainEsft = false,
        DomainRouted = false,
    };

    /// <summary>Why these options cannot run, or null.</summary>
    public string? Problem(int domainCount)
    {
        if (RelativeRates.Count == 0 || RelativeRates.Any(r => !(r > 0) || double.IsInfinity(r)))
            return $"the relative learning-rate grid must hold positive rates (got [{string.Join(", ", RelativeRates)}])";
        if (Seeds.Count == 0) return "at least one seed is needed";
        if (StepsPerDomain <= 0) return $"steps per domain must be positive (got {StepsPerDomain})";
        if (ValidationPoints <= 0) return $"validation points must be positive (got {ValidationPoints})";
        foreach (var n in DomainCounts)
            if (n < 1 || n > domainCount) return $"domain count {n} is outside 1..{domainCount}";
        return null;
    }
}
