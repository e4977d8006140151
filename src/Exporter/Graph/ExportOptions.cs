using DesMoe.Core.Model;

namespace DesMoe.Exporter.Graph;

public enum WeightPrecision
{
    Float32,

    /// <summary>Weights stored as float16 (half the file) and cast to float32 inside the graph; compute stays fp32.</summary>
    Float16,
}

/// <summary>How the routed experts are computed inside the graph.</summary>
public enum ExpertKernel
{
    /// <summary>Standard ONNX ops: per expert, gather the tokens routed to it, run its SwiGLU, scatter-add back.</summary>
    StandardOps,

    /// <summary>ONNX Runtime's <c>com.microsoft.MoE</c> contrib operator (interleaved SwiGLU weights).</summary>
    ContribMoe,
}

public sealed record ExportOptions
{
    public WeightPrecision Precision { get; init; } = WeightPrecision.Float32;
    public ExpertKernel Experts { get; init; } = ExpertKernel.ContribMoe;
    public NoDomainRouting NoDomain { get; init; } = NoDomainRouting.AllExperts;
    /// <summary>Routed experts stored blockwise-quantized (needs <see cref="ExpertKernel.StandardOps"/>: the contrib MoE op takes float weights).</summary>
    public ExpertQuantization Quantization { get; init; } = ExpertQuantization.None;
}
