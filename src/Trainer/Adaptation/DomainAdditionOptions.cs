using DesMoe.Formats.Config;

namespace DesMoe.Trainer.Adaptation;

/// <summary>Settings of <see cref="DomainAddition"/>: adding one domain to an already served model.</summary>
public sealed record DomainAdditionOptions
{
    public int Steps { get; init; } = DomainAdditionDefaults.Steps;
    public int BatchSize { get; init; } = DomainAdditionDefaults.BatchSize;
    public double LearningRate { get; init; } = DomainAdditionDefaults.LearningRate;
    public int WarmupLearningRateSteps { get; init; } = 20;
    public double GradientClip { get; init; } = 1.0;
    public int Seed { get; init; } = 1;
    public int LogEvery { get; init; } = 25;

    /// <summary>Routed experts per layer the new domain owns; 0 = the model's top-k (the fewest its tokens can be routed to).</summary>
    public int ExpertsPerLayer { get; init; }

    /// <summary>Examples of the new domain and of the reference sets routed through the frozen model to choose its experts.</summary>
    public int ProfileExamples { get; init; } = 256;

    /// <summary>Reference examples (split over the reference sets) on which each free expert's removal cost is measured.</summary>
    public int RemovalCostExamples { get; init; } = 128;

    /// <summary>Fraction of the steps in which the router (the new experts' rows only) trains; consolidation follows with it frozen.</summary>
    public double RouterTrainingFraction { get; init; } = 0.5;

    public bool RouterDistillation { get; init; } = true;
    public double DistillationInitialWeight { get; init; } = 1.0;
    public double DistillationTargetKl { get; init; } = 0.02;

    public DomainAdditionOptions Validate()
    {
        var problems = new List<string>();
        if (Steps <= 0) problems.Add($"steps must be positive (got {Steps})");
        if (BatchSize <= 0) problems.Add($"batch size must be positive (got {BatchSize})");
        if (LearningRate <= 0 || double.IsNaN(LearningRate)) problems.Add($"learning rate must be positive (got {LearningRate})");
        if (ExpertsPerLayer < 0) problems.Add($"experts per layer must not be negative (got {ExpertsPerLayer})");
        if (ProfileExamples <= 0) problems.Add($"profile examples must be positive (got {ProfileExamples})");
        if (RemovalCostExamples <= 0) problems.Add($"removal cost examples must be positive (got {RemovalCostExamples})");
        if (RouterTrainingFraction is < 0 or > 1) problems.Add($"router training fraction must be in [0, 1] (got {RouterTrainingFraction})");
        if (problems.Count > 0) throw new ArgumentException("invalid domain addition options: " + string.Join("; ", problems));
        return this;
    }
}
