namespace DesMoe.Torch.Tensors;

/// <summary>
/// Runs of a tensor's first-axis rows, each at most a given number of bytes (a single row when one row alone is larger):
/// how large tensors are read, widened, converted and drawn a slice at a time, so no whole copy is ever held.
/// </summary>
public static class RowSlices
{
    /// <returns>(first row, row count) of each slice, in order; none for zero rows</returns>
    public static IEnumerable<(long Start, long Count)> Of(long rows, long rowBytes, long maxBytes)
    {
        long perSlice = rowBytes <= 0 ? Math.Max(1, rows) : Math.Max(1, maxBytes / rowBytes);
        for (long start = 0; start < rows; start += perSlice)
            yield return (start, Math.Min(perSlice, rows - start));
    }
}
