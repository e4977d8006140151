using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Torch.Tensors;

/// <summary><c>arange</c> over integer bounds with its Scalars kept alive for the native call (see <see cref="Scalars"/>).</summary>
public static class Ranges
{
    /// <summary>[stop - start] int64: start, start + 1, ..., stop - 1.</summary>
    public static Tensor Of(long start, long stop, Device? device = null)
    {
        using var first = start.ToScalar();
        using var end = stop.ToScalar();
        return arange(first, end, dtype: int64, device: device);
    }

    /// <summary>[ceil((stop - start) / step)] in <paramref name="dtype"/>: start, start + step, ...</summary>
    public static Tensor Of(long start, long stop, long step, ScalarType dtype, Device? device = null)
    {
        using var first = start.ToScalar();
        using var end = stop.ToScalar();
        using var stride = step.ToScalar();
        return arange(first, end, stride, dtype: dtype, device: device);
    }
}
