using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.KvCache;

/// <summary>
/// Host floats on the pinned object heap: never moved by the GC, so ONNX Runtime can keep reading and writing them
/// across steps, and pinning a view costs nothing. Zeroed at allocation, so the masked padding is always finite
/// (a masked score is -1e9 and its weight exactly 0, which keeps padded values out of every row's output).
/// </summary>
internal sealed class HostKvBuffer : IKvBuffer
{
    private readonly float[] _data;

    public HostKvBuffer(long length)
    {
        if (length <= 0 || length > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(length), length, $"a host KV buffer holds 1 to {Array.MaxLength} floats");
        _data = GC.AllocateArray<float>((int)length, pinned: true);
    }

    public long Length => _data.Length;

    public OrtValue View(long[] shape)
    {
        long count = IKvBuffer.ViewLength(shape, _data.Length);
        return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _data.AsMemory(0, (int)count), shape);
    }

    public void CopyTo(long from, IKvBuffer target, long to, long count)
    {
        if (target is not HostKvBuffer host) throw new ArgumentException($"a host buffer copies only into host buffers, not {target.GetType().Name}", nameof(target));
        Array.Copy(_data, from, host._data, to, count);
    }

    public void Write(long to, ReadOnlySpan<float> source) => source.CopyTo(_data.AsSpan((int)to));

    /// <summary>Nothing native to free: the array goes with the last reference.</summary>
    public void Dispose()
    {
    }
}
