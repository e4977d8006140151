using DesMoe.Trainer.Adaptation;

namespace DesMoe.Trainer.Benchmark;

public enum RunShape
{
    /// <summary>One run over all domains mixed: one model.</summary>
    Joint,
    /// <summary>Domain after domain, each with its share of the steps: one model.</summary>
    Sequential,
    /// <summary>One run and one model per domain (ESFT).</summary>
    PerDomain,
}

public sealed record BenchmarkMethod(string Name, RunShape Shape, AdaptationOptions Options);

public static class BenchmarkMethods
{
    public static IReadOnlyList<BenchmarkMethod> All { get; } =
    [
        new("DES-MoE", RunShape.Joint, new AdaptationOptions()),
        new("FFT joint", RunShape.Joint, new AdaptationOptions { Method = AdaptationMethod.FullFineTuning }),
        new("FFT sequential", RunShape.Sequential, new AdaptationOptions { Method = AdaptationMethod.FullFineTuning }),
        new("ESFT", RunShape.PerDomain, new AdaptationOptions { Method = AdaptationMethod.Esft }),
        new("DES-MoE w/o distillation", RunShape.Joint, new AdaptationOptions { RouterDistillation = false }),
        new("DES-MoE w/o isolation", RunShape.Joint, new AdaptationOptions { GradientIsolation = false }),
        new("DES-MoE w/o schedule", RunShape.Joint, new AdaptationOptions { ProgressiveSchedule = false }),
        new("DES-MoE w/o domain routing", RunShape.Joint, new AdaptationOptions { DomainRoutedTraining = false }),
    ];
}
