using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.KvCache;

/// <summary>
/// Native host memory, 64-byte aligned for the CPU kernels' vector loads. The CPU provider serves from managed
/// <see cref="HostKvBuffer"/>s; this runs <see cref="NativeKvBuffer"/>, the device path's code, where it can be tested.
/// </summary>
internal sealed unsafe class HostKvMemory : IKvMemory
{
    public static HostKvMemory Instance { get; } = new();

    public OrtMemoryInfo MemoryInfo => OrtMemoryInfo.DefaultInstance;
    public string Name => "native host memory";

    public nint Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var pointer = NativeMemory.AlignedAlloc((nuint)bytes, 64);
        NativeMemory.Clear(pointer, (nuint)bytes);
        return (nint)pointer;
    }

    public void Free(nint pointer) => NativeMemory.AlignedFree((void*)pointer);

    public void Copy(nint source, nint target, long bytes) => NativeMemory.Copy((void*)source, (void*)target, (nuint)bytes);

    public void Upload(ReadOnlySpan<float> source, nint target) => source.CopyTo(new Span<float>((void*)target, source.Length));
}
