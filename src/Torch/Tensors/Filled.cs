using static TorchSharp.torch;

namespace DesMoe.Torch.Tensors;

/// <summary>Constant-filled tensors built from .NET arrays, so no temporary Scalar is handed to native code (see <see cref="Scalars"/>).</summary>
public static class Filled
{
    /// <summary>[count] int64, every element <paramref name="value"/> (e.g. one domain id per sequence).</summary>
    public static Tensor Int64(long count, long value)
    {
        var values = new long[count];
        Array.Fill(values, value);
        return tensor(values);
    }
}
