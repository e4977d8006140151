using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.KvCache;

/// <summary>
/// Float memory that ONNX Runtime reads and writes in place through tensors laid over it. <see cref="HostKvBuffer"/>
/// is managed host memory for the CPU provider; <see cref="NativeKvBuffer"/> lies in an <see cref="IKvMemory"/>, the
/// GPU's under the CUDA provider. <see cref="KvSlots"/> binds either unchanged.
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

    /// <summary>The floats a view of <paramref name="shape"/> covers, refused when more than <paramref name="capacity"/>.</summary>
    static long ViewLength(long[] shape, long capacity)
    {
        long count = 1;
        foreach (var d in shape) count *= d;
        if (count > capacity) throw new ArgumentOutOfRangeException(nameof(shape), $"[{string.Join(", ", shape)}] needs {count} floats; the buffer holds {capacity}");
        return count;
    }
}
