using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>
/// Per-layer key/value tensors shaped [batch, kvHeads, seq, headDim], the same layout the exported ONNX graph
/// uses for <c>past_key_values.{i}</c>. The cache owns its tensors: replacing a layer's entry disposes the old one.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly (Tensor Key, Tensor Value)?[] _layers;

    public KvCache(int numLayers) => _layers = new (Tensor, Tensor)?[numLayers];

    public int NumLayers => _layers.Length;

    /// <summary>Number of positions already cached (0 before the first forward pass).</summary>
    public long Length => _layers[0]?.Key.shape[2] ?? 0;

    public (Tensor Key, Tensor Value)? Get(int layer) => _layers[layer];

    /// <summary>
    /// Extends layer <paramref name="layer"/>'s cache by the new positions (dim 2) and returns the whole past + new
    /// key and value, which the cache now holds.
    /// </summary>
    internal (Tensor Key, Tensor Value) Append(int layer, Tensor key, Tensor value)
    {
        if (Get(layer) is { } past)
        {
            key = cat([past.Key, key], dim: 2);
            value = cat([past.Value, value], dim: 2);
        }
        Set(layer, key, value);
        return (key, value);
    }

    internal void Set(int layer, Tensor key, Tensor value)
    {
        var old = _layers[layer];
        _layers[layer] = (key.DetachFromDisposeScope(), value.DetachFromDisposeScope());
        old?.Key.Dispose();
        old?.Value.Dispose();
    }

    public void Dispose()
    {
        foreach (var entry in _layers)
        {
            entry?.Key.Dispose();
            entry?.Value.Dispose();
        }
        Array.Clear(_layers);
    }
}
