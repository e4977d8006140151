using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DesMoe.Server.KvCache;

/// <summary>
/// KV floats in an <see cref="IKvMemory"/> (the GPU's for the CUDA provider): views are tensors over its pointer with
/// the memory's <see cref="OrtMemoryInfo"/>, so ONNX Runtime reads past and writes present where they lie.
/// </summary>
internal sealed class NativeKvBuffer : IKvBuffer
{
    private readonly IKvMemory _memory;
    private nint _data;

    public NativeKvBuffer(IKvMemory memory, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        _memory = memory;
        Length = length;
        _data = memory.Allocate(length * sizeof(float));
    }

    public long Length { get; }

    public OrtValue View(long[] shape)
    {
        long count = IKvBuffer.ViewLength(shape, Length);
        return OrtValue.CreateTensorValueWithData(_memory.MemoryInfo, TensorElementType.Float, shape, Live, count * sizeof(float));
    }

    public void CopyTo(long from, IKvBuffer target, long to, long count)
    {
        if (target is not NativeKvBuffer native || native._memory != _memory)
            throw new ArgumentException($"a buffer in {_memory.GetType().Name} copies only into buffers of the same memory, not {target.GetType().Name}", nameof(target));
        Check(from, count);
        native.Check(to, count);
        _memory.Copy(Live + (nint)(from * sizeof(float)), native.Live + (nint)(to * sizeof(float)), count * sizeof(float));
    }

    public void Write(long to, ReadOnlySpan<float> source)
    {
        Check(to, source.Length);
        _memory.Upload(source, Live + (nint)(to * sizeof(float)));
    }

    /// <summary>The native copy routines do not check bounds, so every range is checked here.</summary>
    private void Check(long offset, long count)
    {
        if (offset < 0 || count < 0 || offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"floats {offset} .. {offset + count} lie outside the buffer's {Length}");
    }

    private nint Live => _data != 0 ? _data : throw new ObjectDisposedException(nameof(NativeKvBuffer));

    public void Dispose()
    {
        if (_data == 0) return;
        _memory.Free(_data);
        _data = 0;
    }
}
