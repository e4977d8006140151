using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Onnx;

public enum ExecutionProviderPreference
{
    /// <summary>CUDA when the ONNX Runtime build has it and a device accepts the session, CPU otherwise.</summary>
    Auto,
    Cpu,

    /// <summary>CUDA or fail: for deployments where silently falling back to CPU would be a bug.</summary>
    Cuda,
}

public sealed record OnnxSessionSettings
{
    public ExecutionProviderPreference Provider { get; init; } = ExecutionProviderPreference.Auto;

    /// <summary>Intra-op threads; 0 lets ONNX Runtime use one per core.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Whether idle intra-op threads spin (ONNX Runtime's default: lowest latency for a process that owns the cores).
    /// A server turns it off: spinning workers take CPU from the threads that schedule batches and write responses.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;
}

/// <summary>Creates ONNX Runtime sessions on the best available execution provider and says which one it got.</summary>
public static class OnnxSessionFactory
{
    public const string CudaProvider = "CUDAExecutionProvider";
    public const string CpuProvider = "CPUExecutionProvider";

    /// <summary>The GPU a CUDA session runs on (and where the server keeps its KV cache).</summary>
    public const int CudaDevice = 0;

    public static (InferenceSession Session, string Provider) Create(string modelPath, OnnxSessionSettings settings)
    {
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"ONNX model not found: {modelPath}", modelPath);
        bool cudaBuilt = OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider);
        if (settings.Provider == ExecutionProviderPreference.Cuda && !cudaBuilt)
            throw new InvalidOperationException("CUDA was requested but this ONNX Runtime build has no CUDA provider (build with -p:UseOnnxRuntimeGpu=true)");

        if (cudaBuilt && settings.Provider != ExecutionProviderPreference.Cpu)
        {
            try
            {
                var options = BaseOptions(settings);
                options.AppendExecutionProvider_CUDA(CudaDevice);
                return (new InferenceSession(modelPath, options), CudaProvider);
            }
            catch (OnnxRuntimeException) when (settings.Provider == ExecutionProviderPreference.Auto)
            {
                // No usable GPU (driver missing, no device): serve on CPU.
            }
        }
        return (new InferenceSession(modelPath, BaseOptions(settings)), CpuProvider);
    }

    private static SessionOptions BaseOptions(OnnxSessionSettings settings)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = settings.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            // Warnings about the optional domain_ids input (an initializer that is also an input) are expected.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (!settings.AllowSpinning) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }
}
