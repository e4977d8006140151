using DesMoe.Trainer.Adaptation;

namespace DesMoe.Trainer.Comparison;

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
    private static AdaptationOptions DesMoe => AdaptationOptions.For(AdaptationMethod.DesMoe);

    public static IReadOnlyList<BenchmarkMethod> All { get; } =
    [
        new("DES-MoE", RunShape.Joint, DesMoe),
        new("Domain-routed", RunShape.Joint, AdaptationOptions.For(AdaptationMethod.DomainRouted)),
        new("FFT joint", RunShape.Joint, AdaptationOptions.For(AdaptationMethod.FullFineTuning)),
        new("FFT sequential", RunShape.Sequential, AdaptationOptions.For(AdaptationMethod.FullFineTuning)),
        new("ESFT", RunShape.PerDomain, AdaptationOptions.For(AdaptationMethod.Esft)),
        new("LoRA joint", RunShape.Joint, AdaptationOptions.For(AdaptationMethod.Lora)),
        // The paper contradicts itself on whether experts train in warm-up; the default follows its text.
        new("DES-MoE experts in warm-up", RunShape.Joint, DesMoe with { WarmupTrainsExperts = true }),
        // Not the paper's: shows how much of the forgetting Stage I's backbone training causes.
        new("DES-MoE backbone frozen", RunShape.Joint, DesMoe with { WarmupTrainsBackbone = false }),
        new("DES-MoE w/o ALR", RunShape.Joint, DesMoe with { AdaptiveRouter = false }),
        new("DES-MoE w/o distillation", RunShape.Joint, DesMoe with { RouterDistillation = false }),
        new("DES-MoE w/o masks", RunShape.Joint, DesMoe with { GradientIsolation = false }),
        new("DES-MoE w/o schedule", RunShape.Joint, DesMoe with { ProgressiveSchedule = false }),
    ];
}
