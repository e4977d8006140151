using static TorchSharp.torch;

namespace DesMoe.Tests.Reference;

/// <summary>
/// What a decoder keeps between incremental forward passes: which cached positions are real tokens (the key padding
/// mask, [batch, past]) and, per layer, the tensors that layer's attention chose to cache (each architecture owns
/// its layout: standard attention caches keys and values [batch, kvHeads, past, headDim]; DeepSeek-V2's latent
/// attention caches its compressed latent and rotated rope key). The cache owns its tensors and disposes the ones
/// it replaces.
/// </summary>
public sealed class DecoderCache : IDisposable
{
    private readonly Tensor[]?[] _layers;
    private Tensor? _keyMask;

    public DecoderCache(int numLayers) => _layers = new Tensor[]?[numLayers];

    public int NumLayers => _layers.Length;

    /// <summary>Positions already cached (0 before the first forward pass).</summary>
    public long Length => _keyMask?.shape[1] ?? 0;

    /// <summary>[batch, past] bool: true where the cached position holds a real (not padding) token.</summary>
    public Tensor? KeyMask => _keyMask;

    internal void SetKeyMask(Tensor keyMask) => Replace(ref _keyMask, keyMask);

    /// <summary>
    /// Concatenates <paramref name="fresh"/> onto this layer's cached tensors along <paramref name="sequenceDim"/>,
    /// stores the result and returns it (the returned tensors belong to the cache: do not dispose them).
    /// </summary>
    public Tensor[] Append(int layer, long sequenceDim, params Tensor[] fresh)
    {
        var past = _layers[layer];
        var combined = past is null
            ? fresh.Select(t => t.alias()).ToArray()
            : fresh.Select((t, i) => cat([past[i], t], dim: sequenceDim)).ToArray();
        foreach (var t in combined) t.DetachFromDisposeScope();
        _layers[layer] = combined;
        if (past is not null) foreach (var t in past) t.Dispose();
        return combined;
    }

    public void Dispose()
    {
        foreach (var entry in _layers)
            if (entry is not null) foreach (var t in entry) t.Dispose();
        Array.Clear(_layers);
        _keyMask?.Dispose();
        _keyMask = null;
    }

    private static void Replace(ref Tensor? slot, Tensor value)
    {
        var old = slot;
        slot = value.DetachFromDisposeScope();
        if (old is not null && !ReferenceEquals(old, value)) old.Dispose();
    }
}
