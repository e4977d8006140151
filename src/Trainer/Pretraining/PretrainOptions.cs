using DesMoe.Formats.Config;

namespace DesMoe.Trainer.Pretraining;

/// <summary>Settings of a pre-training run from random initialisation. Defaults produce the bundled base model.</summary>
public sealed record PretrainOptions
{
    public required MoeConfig Model { get; init; }
    public int Steps { get; init; } = 3000;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 3e-3;
    public int WarmupSteps { get; init; } = 100;
    public double WeightDecay { get; init; } = 0.01;
    public double GradientClip { get; init; } = 1.0;
    public int Seed { get; init; } = global::DesMoe.Formats.Data.GeneralSet.Seed;
    public int LogEvery { get; init; } = 100;
    public int EvalExamples { get; init; } = 600;
}
