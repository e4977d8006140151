using System.Runtime.InteropServices;
using DesMoe.Server.KvCache;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>
/// The native KV buffers the CUDA provider's cache is made of, over host memory (the CUDA runtime's copies are the
/// only part that needs a GPU): zeroed memory, views ONNX Runtime can read, bounds the native copies do not check
/// themselves, and nothing leaked when allocation fails half way.
/// </summary>
public sealed class NativeKvBufferTests
{
    /// <summary>Host memory that counts what is live and can be told to refuse the Nth allocation.</summary>
    private sealed class CountingMemory(int failAt = int.MaxValue) : IKvMemory
    {
        private int _allocations;
        public int Live { get; private set; }
        public OrtMemoryInfo MemoryInfo => HostKvMemory.Instance.MemoryInfo;
        public string Name => "counted host memory";

        public nint Allocate(long bytes)
        {
            if (++_allocations == failAt) throw new InvalidOperationException($"allocation {failAt} refused");
            Live++;
            return HostKvMemory.Instance.Allocate(bytes);
        }

        public void Free(nint pointer)
        {
            Live--;
            HostKvMemory.Instance.Free(pointer);
        }

        public void Copy(nint source, nint target, long bytes) => HostKvMemory.Instance.Copy(source, target, bytes);
        public void Upload(ReadOnlySpan<float> source, nint target) => HostKvMemory.Instance.Upload(source, target);
    }

    [Fact]
    public void A_buffer_starts_zeroed_and_its_writes_and_copies_land_where_a_view_reads_them()
    {
        using var a = new NativeKvBuffer(HostKvMemory.Instance, 8);
        using var b = new NativeKvBuffer(HostKvMemory.Instance, 8);
        using (var zero = a.View([2, 4])) Assert.All(zero.GetTensorDataAsSpan<float>().ToArray(), v => Assert.Equal(0f, v));

        a.Write(2, [1f, 2f, 3f]);
        a.CopyTo(2, b, 5, 3);
        using var view = b.View([2, 4]);
        Assert.Equal([0f, 0f, 0f, 0f, 0f, 1f, 2f, 3f], view.GetTensorDataAsSpan<float>().ToArray());
        Assert.Equal([2L, 4L], view.GetTensorTypeAndShape().Shape);
    }

    [Fact]
    public void Out_of_range_views_writes_and_copies_and_a_copy_to_other_memory_are_refused_with_the_range()
    {
        using var a = new NativeKvBuffer(HostKvMemory.Instance, 8);
        using var b = new NativeKvBuffer(HostKvMemory.Instance, 4);
        using var managed = new HostKvBuffer(8);
        Assert.Contains("needs 9 floats; the buffer holds 8", Assert.Throws<ArgumentOutOfRangeException>(() => a.View([3, 3])).Message);
        Assert.Contains("floats 6 .. 9 lie outside the buffer's 8", Assert.Throws<ArgumentOutOfRangeException>(() => a.Write(6, [1f, 2f, 3f])).Message);
        Assert.Contains("floats 2 .. 5 lie outside the buffer's 4", Assert.Throws<ArgumentOutOfRangeException>(() => a.CopyTo(0, b, 2, 3)).Message);
        Assert.Contains("not HostKvBuffer", Assert.Throws<ArgumentException>(() => a.CopyTo(0, managed, 0, 1)).Message);
        Assert.Contains("not NativeKvBuffer", Assert.Throws<ArgumentException>(() => managed.CopyTo(0, a, 0, 1)).Message);
    }

    [Fact]
    public void Slots_free_every_buffer_on_dispose_and_when_an_allocation_fails_half_way()
    {
        var memory = new CountingMemory();
        using (new KvSlots(layers: 3, maxRows: 2, heads: 2, context: 8, keyDim: 4, valueDim: 2, n => new NativeKvBuffer(memory, n)))
            Assert.Equal(3 * 2 * 2, memory.Live); // per layer: key and value, current and other
        Assert.Equal(0, memory.Live);

        var failing = new CountingMemory(failAt: 7);
        var e = Assert.Throws<InvalidOperationException>(() => new KvSlots(3, 2, 2, 8, 4, 2, n => new NativeKvBuffer(failing, n)));
        Assert.Contains("allocation 7 refused", e.Message);
        Assert.Equal(0, failing.Live);
    }

    /// <summary>Where the CUDA runtime is missing (every machine without the GPU build's libraries), the engine says which library and why it needs it.</summary>
    [Fact]
    public void Cuda_memory_without_the_cuda_runtime_names_the_library_it_needs()
    {
        if (NativeLibrary.TryLoad("libcudart.so.13", out var handle))
        {
            NativeLibrary.Free(handle);
            using var memory = new CudaKvMemory(0); // a GPU machine: the runtime is there, so this must work
            using var buffer = new NativeKvBuffer(memory, 16);
            buffer.Write(0, [1f, 2f]);
            return;
        }
        var e = Assert.Throws<InvalidOperationException>(() => new CudaKvMemory(0));
        Assert.Contains("libcudart.so.13 could not be loaded", e.Message);
        Assert.Contains("KV cache", e.Message);
    }

    [Fact]
    public void A_disposed_buffer_refuses_use_instead_of_touching_freed_memory()
    {
        var memory = new CountingMemory();
        var buffer = new NativeKvBuffer(memory, 4);
        buffer.Dispose();
        buffer.Dispose();
        Assert.Equal(0, memory.Live);
        Assert.Throws<ObjectDisposedException>(() => buffer.View([4]));
        Assert.Throws<ObjectDisposedException>(() => buffer.Write(0, [1f]));
    }
}
