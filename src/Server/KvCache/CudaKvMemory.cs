using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.KvCache;

/// <summary>
/// GPU memory through the CUDA runtime that the CUDA provider itself loads (libcudart of the CUDA version it was
/// built for), on the device the session runs on. Copies go through the legacy default stream and are waited for:
/// ONNX Runtime runs its kernels on a stream of its own, which does not wait for the default stream, so a copy must be
/// finished before the next session run. Copies happen only when the batch changes (a row joins, leaves or is
/// re-laid out), never on a plain decode step.
/// </summary>
internal sealed partial class CudaKvMemory : IKvMemory, IDisposable
{
    /// <summary>The runtime Microsoft.ML.OnnxRuntime.Gpu 1.31's CUDA provider links (CUDA 13).</summary>
    private const string CudaRuntime = "libcudart.so.13";

    private const int HostToDevice = 1, DeviceToDevice = 3;

    private readonly int _device;

    public CudaKvMemory(int device)
    {
        _device = device;
        try
        {
            Check(cudaSetDevice(device), $"cudaSetDevice({device})");
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException($"the CUDA provider is active but {CudaRuntime} could not be loaded, and the KV cache needs it for its device buffers: {e.Message}", e);
        }
        MemoryInfo = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, device, OrtMemType.Default);
    }

    public OrtMemoryInfo MemoryInfo { get; }
    public string Name => $"GPU memory (CUDA device {_device})";

    public nint Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Check(cudaSetDevice(_device), $"cudaSetDevice({_device})");
        Check(cudaMalloc(out var pointer, (nuint)bytes), $"cudaMalloc of {bytes} bytes on device {_device}");
        try
        {
            Check(cudaMemset(pointer, 0, (nuint)bytes), "cudaMemset");
            Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize after cudaMemset");
        }
        catch
        {
            cudaFree(pointer);
            throw;
        }
        return pointer;
    }

    public void Free(nint pointer)
    {
        // Not checked: freeing runs in Dispose, and a failure there (a device already lost) has nothing left to save.
        cudaSetDevice(_device);
        cudaFree(pointer);
    }

    public void Copy(nint source, nint target, long bytes)
    {
        Check(cudaSetDevice(_device), $"cudaSetDevice({_device})");
        Check(cudaMemcpy(target, source, (nuint)bytes, DeviceToDevice), $"cudaMemcpy of {bytes} bytes device to device");
        Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize after a device copy");
    }

    public unsafe void Upload(ReadOnlySpan<float> source, nint target)
    {
        Check(cudaSetDevice(_device), $"cudaSetDevice({_device})");
        fixed (float* host = source)
            Check(cudaMemcpy(target, (nint)host, (nuint)(source.Length * sizeof(float)), HostToDevice), $"cudaMemcpy of {source.Length} floats host to device");
        Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize after an upload");
    }

    private static void Check(int error, string call)
    {
        if (error != 0)
            throw new InvalidOperationException($"{call} failed: {Marshal.PtrToStringAnsi(cudaGetErrorName(error))} ({error}): {Marshal.PtrToStringAnsi(cudaGetErrorString(error))}");
    }

    public void Dispose() => MemoryInfo.Dispose();

    [LibraryImport(CudaRuntime)] private static partial int cudaSetDevice(int device);
    [LibraryImport(CudaRuntime)] private static partial int cudaMalloc(out nint pointer, nuint bytes);
    [LibraryImport(CudaRuntime)] private static partial int cudaFree(nint pointer);
    [LibraryImport(CudaRuntime)] private static partial int cudaMemset(nint pointer, int value, nuint bytes);
    [LibraryImport(CudaRuntime)] private static partial int cudaMemcpy(nint target, nint source, nuint bytes, int kind);
    [LibraryImport(CudaRuntime)] private static partial int cudaDeviceSynchronize();
    [LibraryImport(CudaRuntime)] private static partial nint cudaGetErrorName(int error);
    [LibraryImport(CudaRuntime)] private static partial nint cudaGetErrorString(int error);
}
