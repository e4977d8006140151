namespace DesMoe.Trainer.Adaptation;

public enum AdaptationMethod
{
    /// <summary>DES-MoE: router distillation, specificity-matrix gradient isolation, three-phase schedule.</summary>
    DesMoe,
    /// <summary>Full fine-tuning: every parameter trains on every domain's batches.</summary>
    FullFineTuning,
    /// <summary>ESFT: only the experts most relevant to the (single) domain train; router and everything else frozen.</summary>
    Esft,
}

public enum EsftScore
{
    /// <summary>Average router probability the domain's tokens give the expert.</summary>
    GateScore,
    /// <summary>Share of the domain's top-k selections that go to the expert.</summary>
    TokenSelectionRatio,
}

/// <summary>
/// Settings of one adaptation run. Defaults are the DES-MoE values recorded in docs/desmoe.md; each mechanism can
/// be switched off for ablation.
/// </summary>
public sealed record AdaptationOptions
{
    public AdaptationMethod Method { get; init; } = AdaptationMethod.DesMoe;
    public int Steps { get; init; } = 600;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-3;
    public int WarmupLearningRateSteps { get; init; } = 20;
    public double WeightDecay { get; init; } = 0.0;
    public double GradientClip { get; init; } = 1.0;
    public int Seed { get; init; } = 1;
    public int LogEvery { get; init; } = 50;
    /// <summary>Validation loss on the held-out sets is measured every this many steps (when held-out sets are given).</summary>
    public int ValidateEvery { get; init; } = 25;
    /// <summary>
    /// When set, the run saves an <see cref="AdaptationCheckpoint"/> here every <see cref="CheckpointEvery"/> steps and,
    /// if the folder already holds one of the same run, continues from it instead of starting over.
    /// </summary>
    public string? CheckpointDirectory { get; init; }
    public int CheckpointEvery { get; init; } = 100;

    // Mechanism 1: adaptive router distillation.
    public bool RouterDistillation { get; init; } = true;
    public double DistillationInitialWeight { get; init; } = 1.0;
    public double DistillationTargetKl { get; init; } = 0.02;

    // Mechanism 2: specificity matrix and gradient isolation.
    public bool GradientIsolation { get; init; } = true;
    public double MatrixEmaRate { get; init; } = 0.05;
    public double AssignmentTopP { get; init; } = 0.5;
    public double AssignmentMinSpecificity { get; init; } = 1.0;
    public int ReassignEvery { get; init; } = 50;

    /// <summary>
    /// Train as the model is served: once the assignment exists, each domain's tokens route to its own experts plus
    /// the experts outside the adaptable pool, and the no-domain path to the latter only. Only the pool's experts and
    /// router rows ever train, so the no-domain path is the base model without the pool. Off: the plain router for
    /// every token, with isolation by detaching other domains' expert outputs (needs no general reference).
    /// </summary>
    public bool DomainRoutedTraining { get; init; } = true;
    /// <summary>Routed experts per layer the domains may adapt, chosen by least removal cost on the general reference.</summary>
    public int AdaptableExperts { get; init; } = 8;
    /// <summary>General reference examples on which each expert's removal cost is measured.</summary>
    public int RemovalCostExamples { get; init; } = 128;

    // Mechanism 3: three-phase schedule (fractions of Steps).
    public bool ProgressiveSchedule { get; init; } = true;
    public double WarmupFraction { get; init; } = 0.15;
    public double StabilizationFraction { get; init; } = 0.35;
    /// <summary>
    /// When set, warm-up and stabilization also end early once the assignment recomputed every
    /// <see cref="ReassignEvery"/> steps moves by at most this fraction of memberships; the fractions above are then upper limits.
    /// </summary>
    public double? PhaseStabilityThreshold { get; init; }

    /// <summary>Shared experts train too (DeepSeekMoE's shared experts hold common knowledge; frozen by default).</summary>
    public bool TrainSharedExperts { get; init; }

    // ESFT.
    public EsftScore EsftScore { get; init; } = EsftScore.TokenSelectionRatio;
    public double EsftTopP { get; init; } = 0.2;
    public int EsftRelevanceExamples { get; init; } = 256;

    /// <summary>DES-MoE with gradient isolation and <see cref="DomainRoutedTraining"/>: the run chooses an adaptable pool and trains under domain routing.</summary>
    public bool UsesDomainRouting => Method == AdaptationMethod.DesMoe && GradientIsolation && DomainRoutedTraining;

    public AdaptationOptions Validate()
    {
        var problems = new List<string>();
        if (Steps <= 0) problems.Add($"steps must be positive (got {Steps})");
        if (BatchSize <= 0) problems.Add($"batch size must be positive (got {BatchSize})");
        if (LearningRate <= 0) problems.Add($"learning rate must be positive (got {LearningRate})");
        if (MatrixEmaRate is <= 0 or > 1) problems.Add($"matrix EMA rate must be in (0, 1] (got {MatrixEmaRate})");
        if (AssignmentTopP is <= 0 or > 1) problems.Add($"assignment top-p must be in (0, 1] (got {AssignmentTopP})");
        if (EsftTopP is <= 0 or > 1) problems.Add($"ESFT top-p must be in (0, 1] (got {EsftTopP})");
        if (PhaseStabilityThreshold is < 0 or > 1) problems.Add($"phase stability threshold must be in [0, 1] (got {PhaseStabilityThreshold})");
        if (AdaptableExperts <= 0) problems.Add($"adaptable experts must be positive (got {AdaptableExperts})");
        if (RemovalCostExamples <= 0) problems.Add($"removal cost examples must be positive (got {RemovalCostExamples})");
        if (UsesDomainRouting && TrainSharedExperts)
            problems.Add("domain-routed training keeps the shared experts frozen: they also serve the no-domain path");
        if (UsesDomainRouting && WeightDecay > 0)
            problems.Add($"domain-routed training needs weight decay 0 (got {WeightDecay}): decay would move the router rows it keeps frozen");
        if (CheckpointEvery <= 0) problems.Add($"checkpoint interval must be positive (got {CheckpointEvery})");
        if (ReassignEvery <= 0) problems.Add($"reassign interval must be positive (got {ReassignEvery})");
        if (WarmupFraction < 0 || StabilizationFraction < 0 || WarmupFraction + StabilizationFraction > 1)
            problems.Add($"phase fractions must be non-negative and sum to at most 1 (warm-up {WarmupFraction}, stabilization {StabilizationFraction})");
        if (problems.Count > 0) throw new ArgumentException("invalid adaptation options: " + string.Join("; ", problems));
        return this;
    }
}
