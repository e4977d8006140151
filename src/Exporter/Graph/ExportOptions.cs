using DesMoe.Formats.Experts;

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
    /// <summary>What the quantized experts' products compute in (only with <see cref="Quantization"/>).</summary>
    public QuantizedCompute QuantizedCompute { get; init; } = QuantizedCompute.Float32;
    /// <summary>Weights in <c>model.onnx.data</c> beside the graph: true, false, or null for "when the weights pass <see cref="ExternalDataAbove"/>".</summary>
    public bool? ExternalData { get; init; }
    /// <summary>
    /// The most bytes of one weight converted and written at a time (<see cref="WeightTable"/>): what export holds
    /// beside the model itself. Any value writes the same file.
    /// </summary>
    public long WeightBlockBytes { get; init; } = 64L << 20;

    /// <summary>Protobuf cannot hold a message over 2 GB; past this many weight bytes the export switches to external data.</summary>
    public const long ExternalDataAbove = 1L << 30;
}
