namespace DesMoe.Trainer.Pretraining;

/// <summary>A progress report: emitted every few steps so long runs show where they are.</summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double BalanceLoss, double LearningRate,
    double TokensPerSecond, TimeSpan Elapsed)
{
    public TimeSpan EstimatedRemaining =>
        Step == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Elapsed.Ticks / Step * (TotalSteps - Step));

    public override string ToString() =>
        $"step {Step,6}/{TotalSteps}  loss {Loss:F4}  balance {BalanceLoss:F3}  lr {LearningRate:E2}  " +
        $"{TokensPerSecond,8:F0} tok/s  elapsed {Elapsed:hh\\:mm\\:ss}  eta {EstimatedRemaining:hh\\:mm\\:ss}";
}
