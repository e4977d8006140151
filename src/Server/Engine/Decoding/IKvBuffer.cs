using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.Engine.Decoding;

/// <summary>
/// Float memory that ONNX Runtime reads and writes in place through tensors laid over it. <see cref="HostKvBuffer"/>
/// is host memory for the CPU provider; a CUDA build would implement the same members over device memory (an
/// <see cref="OrtAllocator"/> for the session's <c>OrtMemoryInfo("Cuda", ...)</c>, copies through
/// <see cref="OrtEnv.CopyTensors"/>), and <see cref="KvSlots"/> would bind it unchanged.
/// </summary>
internal interface IKvBuffer : IDisposable
{
    /// <summary>Capacity in floats.</summary>
    long Length { get; }

    /// <summary>A tensor of <paramref name="shape"/> over the first shape-product floats; dispose it before the buffer.</summary>
    OrtValue View(long[] shape);

    /// <summary>Copies <paramref name="count"/> floats from <paramref name="from"/> here to <paramref name="to"/> in <paramref name="target"/> (the same kind of memory).</summary>
    void CopyTo(long from, IKvBuffer target, long to, long count);

    /// <summary>Writes host floats (a prefill's present) at <paramref name="to"/>.</summary>
    void Write(long to, ReadOnlySpan<float> source);
}
