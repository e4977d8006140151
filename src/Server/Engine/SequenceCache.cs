namespace DesMoe.Server.Engine;

/// <summary>
/// One sequence's keys and values, per layer [kv_heads, capacity, head_dim], grown one position per decode step.
/// Kept per sequence so that sequences can join and leave the running batch between steps.
/// </summary>
internal sealed class SequenceCache(int layers, int kvHeads, int capacity, int headDim)
{
    private readonly float[][] _keys = Enumerable.Range(0, layers).Select(_ => new float[kvHeads * capacity * headDim]).ToArray();
    private readonly float[][] _values = Enumerable.Range(0, layers).Select(_ => new float[kvHeads * capacity * headDim]).ToArray();

    public int Length { get; private set; }

    /// <summary>Appends positions [from, from + count) of row <paramref name="row"/> of a [batch, kv_heads, total, head_dim] present tensor.</summary>
    public void Append(int layer, ReadOnlySpan<float> presentKeys, ReadOnlySpan<float> presentValues, int row, int total, int from, int count)
    {
        for (int h = 0; h < kvHeads; h++)
        {
            int source = ((row * kvHeads + h) * total + from) * headDim;
            int target = (h * capacity + Length) * headDim;
            presentKeys.Slice(source, count * headDim).CopyTo(_keys[layer].AsSpan(target));
            presentValues.Slice(source, count * headDim).CopyTo(_values[layer].AsSpan(target));
        }
    }

    public void Advance(int count)
    {
        if (Length + count > capacity) throw new InvalidOperationException($"KV cache overflow: {Length + count} positions exceed the context of {capacity}");
        Length += count;
    }

    /// <summary>Copies this sequence right-aligned into row <paramref name="row"/> of a [batch, kv_heads, width, head_dim] past tensor.</summary>
    public void CopyInto(int layer, float[] keys, float[] values, int row, int width)
    {
        int pad = width - Length;
        for (int h = 0; h < kvHeads; h++)
        {
            int source = h * capacity * headDim;
            int target = ((row * kvHeads + h) * width + pad) * headDim;
            Array.Copy(_keys[layer], source, keys, target, Length * headDim);
            Array.Copy(_values[layer], source, values, target, Length * headDim);
        }
    }
}
