namespace DesMoe.Exporter.Onnx;

/// <summary>
/// The ONNX versions the exporter targets. Opset 21 (IR 10) is the newest standard opset that ONNX Runtime 1.20+
/// implements completely on both CPU and CUDA, and it has everything this graph needs (ReduceMean/ReduceSum with
/// axes as inputs, ScatterND with reduction, Where/LessOrEqual on all types), so older ORT builds such as Triton's
/// ONNX backend load the file too. The com.microsoft domain is imported only when the MoE contrib operator is used.
/// </summary>
public static class OnnxFormat
{
    public const long IrVersion = 10;
    public const long Opset = 21;
    public const string MicrosoftDomain = "com.microsoft";
    public const long MicrosoftOpset = 1;
}
