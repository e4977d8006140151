namespace DesMoe.Torch.Safetensors;

/// <summary>One entry of a safetensors header: where a tensor's raw little-endian bytes lie in the data section.</summary>
/// <param name="Name">the tensor's name (for a model, its state-dict key)</param>
/// <param name="DType">safetensors dtype string, e.g. "BF16"</param>
/// <param name="Shape">dimensions, outermost first; empty for a scalar</param>
/// <param name="Begin">first byte, relative to the start of the data section</param>
/// <param name="End">one past the last byte, relative to the start of the data section</param>
public sealed record SafetensorsTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (product, dim) => product * dim);

    public string ShapeText => ShapeFormat.Of(Shape);
}

public static class ShapeFormat
{
    public static string Of(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
