using DesMoe.Formats.Experts;
namespace DesMoe.Trainer.Adaptation;

/// <summary>A progress report of an adaptation run: phase, step, loss per domain, router drift, speed, ETA.</summary>
public sealed record AdaptationProgress(
    int Step, int TotalSteps, TrainingPhase? Phase, double Loss, IReadOnlyDictionary<string, double> DomainLoss,
    double RouterKl, double DistillationWeight, double TokensPerSecond, TimeSpan Elapsed)
{
    public TimeSpan EstimatedRemaining =>
        Step == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Elapsed.Ticks / Step * (TotalSteps - Step));

    public override string ToString() =>
        $"step {Step,5}/{TotalSteps} {(Phase?.ToString() ?? "-"),-13} loss {Loss:F4} [" +
        string.Join(" ", DomainLoss.Select(kv => $"{kv.Key} {kv.Value:F3}")) + $"] router-kl {RouterKl:F4} (w {DistillationWeight:F2})  " +
        $"{TokensPerSecond:F0} tok/s  eta {EstimatedRemaining:hh\\:mm\\:ss}";
}

/// <summary>What an adaptation run produced besides the trained weights.</summary>
public sealed record AdaptationRun(
    SpecificityMatrix? Matrix,
    ExpertAssignment? Assignment,
    IReadOnlyList<(int Step, double Loss)> LossCurve,
    IReadOnlyList<(int Step, double Loss, double Seconds)> ValidationCurve,
    int Steps,
    double WallSeconds,
    long TrainableParameters)
{
    /// <summary>
    /// Where a model folder keeps DES-MoE's final expert-domain masks (S_d per layer, in the assignment format): a record
    /// of training, not a routing table, so exporters and servers do not read it and the model serves without labels.
    /// </summary>
    public const string MasksFileName = "expert_domain_masks.json";

    /// <summary>
    /// Trained under domain routing: serve and evaluate it with <see cref="Assignment"/>'s routing table and the
    /// no-domain path on unassigned experts only (<see cref="NoDomainRouting.UnassignedExperts"/>).
    /// </summary>
    public bool DomainRouted { get; init; }

    /// <summary>With <see cref="AdaptationOptions.KeepBestValidation"/>: the step whose weights the run ended on (null without validation).</summary>
    public int? BestStep { get; init; }

    /// <summary>How many optimizer updates each parameter took (a frozen or masked step is not one); empty for LoRA.</summary>
    public IReadOnlyDictionary<string, long> UpdatesPerParameter { get; init; } = new Dictionary<string, long>();
}
