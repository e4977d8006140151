using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.KvCache;

/// <summary>
/// Raw memory for <see cref="NativeKvBuffer"/>s and how bytes move inside it: where the KV cache lives when it is not
/// a managed array. <see cref="CudaKvMemory"/> is the GPU's (the CUDA provider reads and writes the cache there, so
/// no step copies it across PCIe); <see cref="HostKvMemory"/> is native host memory, the same code path on the CPU.
/// Every call returns when its bytes are in place, so the next session run sees them.
/// </summary>
internal interface IKvMemory
{
    /// <summary>What ONNX Runtime is told about tensors over this memory.</summary>
    OrtMemoryInfo MemoryInfo { get; }

    /// <summary>Where this memory is, for operators ("GPU memory (CUDA device 0)").</summary>
    string Name { get; }

    /// <summary>Allocates <paramref name="bytes"/> zeroed bytes (masked padding must be finite, see <see cref="HostKvBuffer"/>).</summary>
    nint Allocate(long bytes);

    void Free(nint pointer);

    /// <summary>Copies <paramref name="bytes"/> bytes between two places in this memory (they do not overlap).</summary>
    void Copy(nint source, nint target, long bytes);

    /// <summary>Copies host floats to <paramref name="target"/> in this memory.</summary>
    void Upload(ReadOnlySpan<float> source, nint target);
}
