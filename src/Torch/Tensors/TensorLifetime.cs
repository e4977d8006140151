using static TorchSharp.torch;

namespace DesMoe.Torch.Tensors;

/// <summary>
/// Runs a unit of tensor work (a job, a command, an export) inside one dispose scope. TorchSharp passes a Tensor's raw
/// handle to native code without keeping the managed object alive, and Tensor has a finalizer: a temporary (the
/// receiver or an argument in a chain like <c>a.matmul(b.transpose(2, 3))</c>) made outside any dispose scope can be
/// freed by a concurrent GC while libtorch still uses it, a rare segfault. A scope references every tensor made on
/// its thread until it ends, so none of them is finalized early; inner scopes (one per training step, one per
/// evaluation batch) still free their tensors as before, so only set-up tensors wait for the end.
/// The scope is thread-local: the work must stay on the calling thread (no awaits inside).
/// </summary>
public static class TensorLifetime
{
    public static T Scoped<T>(Func<T> work)
    {
        using var scope = NewDisposeScope();
        return work();
    }

    public static void Scoped(Action work)
    {
        using var scope = NewDisposeScope();
        work();
    }
}
