using DesMoe.Formats.Config;
using DesMoe.Formats.Experts;

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

    /// <summary>Routed experts per layer the new domain gets copies of (and trains); 0 = the model's top-k.</summary>
    public int ExpertsPerLayer { get; init; }

    /// <summary>
    /// Whether the new domain's tokens choose among its copied experts only (<see cref="ExpertAssignment.ConfinedDomains"/>),
    /// so every expert they run trains; false routes them as the no-domain path does (the first form, kept to measure against).
    /// </summary>
    public bool ConfineToCopies { get; init; } = true;

    /// <summary>Examples of the new domain routed through the frozen model to choose the experts it copies.</summary>
    public int ProfileExamples { get; init; } = 256;

    public DomainAdditionOptions Validate()
    {
        var problems = new List<string>();
        if (Steps <= 0) problems.Add($"steps must be positive (got {Steps})");
        if (BatchSize <= 0) problems.Add($"batch size must be positive (got {BatchSize})");
        if (LearningRate <= 0 || double.IsNaN(LearningRate)) problems.Add($"learning rate must be positive (got {LearningRate})");
        if (ExpertsPerLayer < 0) problems.Add($"experts per layer must not be negative (got {ExpertsPerLayer})");
        if (ProfileExamples <= 0) problems.Add($"profile examples must be positive (got {ProfileExamples})");
        if (problems.Count > 0) throw new ArgumentException("invalid domain addition options: " + string.Join("; ", problems));
        return this;
    }
}
