using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Tests.Reference;

/// <summary>Causal + key-padding masks and default position ids, built from index tensors (no temporary scalars).</summary>
public static class AttentionMasks
{
    /// <summary>[1, count] int64 holding start, start+1, ...</summary>
    public static Tensor Range(long start, long count, Device device)
    {
        var values = new long[count];
        for (long i = 0; i < count; i++) values[i] = start + i;
        return tensor(values, device: device).unsqueeze(0);
    }

    /// <summary>
    /// [batch, 1, seq, past + seq] bool: query i (at cache index past + i) may attend to key j when j &lt;= past + i
    /// and key j is a real token.
    /// </summary>
    /// <param name="keyMask">[batch, past + seq] bool</param>
    public static Tensor CausalAllowed(Tensor keyMask, long pastLength, long seq)
    {
        long total = keyMask.shape[1];
        var queryIndex = Range(pastLength, seq, keyMask.device).transpose(0, 1); // [seq, 1]
        var keyIndex = Range(0, total, keyMask.device); // [1, total]
        var causal = keyIndex.le(queryIndex); // [seq, total]
        return (causal.unsqueeze(0) & keyMask.unsqueeze(1)).unsqueeze(1);
    }

    /// <summary>
    /// Rotary positions counted from each row's first real token, as transformers' generate does for left padding:
    /// tokens already cached in the row plus the running count of real new tokens, minus one (0 at pads).
    /// </summary>
    /// <param name="newMask">[batch, seq] bool for the new tokens</param>
    /// <param name="pastMask">[batch, past] bool, or null without a cache</param>
    public static Tensor DefaultPositions(Tensor newMask, Tensor? pastMask)
    {
        var counted = newMask.to(int64).cumsum(1);
        if (pastMask is not null) counted = counted.add(pastMask.to(int64).sum(1, keepdim: true), Scalars.One);
        var positions = counted - ones_like(counted);
        return maximum(positions, zeros_like(positions));
    }
}
