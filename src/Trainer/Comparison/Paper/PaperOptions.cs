namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>
/// Settings of the paper's comparison (Tables 1-3, Figures 2-3). Every method gets the same data and the same step
/// budget per domain. Like the paper, each method gets its own learning rate from a grid: the headline methods are
/// trained at every rate of <see cref="LearningRateGrid"/> on Figure 2's smallest domain count, and the rate with the
/// lowest held-out domain loss is used for all of that method's rows (its family's, for the rows built on it).
/// The defaults are sized for about 90 minutes on 2 cores.
/// </summary>
public sealed record PaperOptions
{
    /// <summary>Optimizer steps per domain: a run over N domains takes N times this.</summary>
    public int StepsPerDomain { get; init; } = 30;
    public int BatchSize { get; init; } = 16;
    /// <summary>Peak learning rates tried per headline method (the paper's grid is 1e-5..3e-4 for a 16B model; this
    /// model was pre-trained at 3e-3). One rate skips the tuning.</summary>
    public IReadOnlyList<double> LearningRateGrid { get; init; } = [1e-3, 3e-3];
    /// <summary>Training examples per domain (the first of the prepared set).</summary>
    public int TrainExamples { get; init; } = 2000;
    /// <summary>Held-out examples scored per domain.</summary>
    public int EvalExamples { get; init; } = 50;
    /// <summary>Held-out examples per general probe.</summary>
    public int ProbeExamples { get; init; } = 50;
    /// <summary>Figure 2's domain counts: the first N domains, for FFT, ESFT and DES-MoE mixed.</summary>
    public IReadOnlyList<int> DomainCounts { get; init; } = [2, 3, 4, 5, 6];
    /// <summary>Seeds of the rows the targets compare (<see cref="PaperBenchmark.Seeded"/>); the first also runs every other row.</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [1, 2, 3];
    /// <summary>Run the ablations (Table 3).</summary>
    public bool Ablations { get; init; } = true;
    /// <summary>ESFT's cumulative-score threshold p: 0.2 for the token score, 0.1 for the gate score (the paper's).</summary>
    public double EsftTokenTopP { get; init; } = 0.2;
    public double EsftGateTopP { get; init; } = 0.1;

    /// <summary>The checking subset: one seed, two domain counts, no ablations, fewer steps and examples (minutes, not an hour).</summary>
    public static PaperOptions Quick { get; } = new()
    {
        StepsPerDomain = 20,
        LearningRateGrid = [3e-3],
        EvalExamples = 30,
        ProbeExamples = 30,
        DomainCounts = [2, 6],
        Seeds = [1],
        Ablations = false,
    };
}
