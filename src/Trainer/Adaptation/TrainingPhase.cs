namespace DesMoe.Trainer.Adaptation;

/// <summary>DES-MoE's progressive schedule.</summary>
public enum TrainingPhase
{
    /// <summary>Router and every routed expert train; the specificity matrix fills from routing statistics.</summary>
    Warmup,
    /// <summary>Router plus the domain-relevant experts train; each domain's gradients reach only its own experts.</summary>
    Stabilization,
    /// <summary>Router and unrelated experts frozen; only each domain's own experts train, assignment locked.</summary>
    Consolidation,
}

/// <summary>Phase boundaries by step count. With the progressive schedule off, warm-up is followed by stabilization to the end.</summary>
public sealed record PhaseSchedule(int WarmupSteps, int StabilizationSteps, int TotalSteps, bool Progressive = true)
{
    public static PhaseSchedule FromFractions(int totalSteps, double warmup, double stabilization, bool progressive = true)
    {
        if (warmup < 0 || stabilization < 0 || warmup + stabilization > 1)
            throw new ArgumentException($"phase fractions must be non-negative and sum to at most 1 (warm-up {warmup}, stabilization {stabilization})");
        int w = (int)Math.Round(totalSteps * warmup);
        int s = (int)Math.Round(totalSteps * stabilization);
        return new PhaseSchedule(w, s, totalSteps, progressive);
    }

    public TrainingPhase At(int step)
    {
        if (step < WarmupSteps) return TrainingPhase.Warmup;
        if (!Progressive || step < WarmupSteps + StabilizationSteps) return TrainingPhase.Stabilization;
        return TrainingPhase.Consolidation;
    }
}
