using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Onnx;

/// <summary>
/// The graph's <c>present.{i}.key/value</c> outputs, fed back as the next step's <c>past_key_values</c>:
/// per layer [batch, heads, length, dim] (<see cref="Config.MoeConfig.CacheHeads"/>). The cache owns its ONNX Runtime values.
/// </summary>
public sealed class OnnxKvCache : IDisposable
{
    private readonly OrtValue[] _keys;
    private readonly OrtValue[] _values;

    internal OnnxKvCache(OrtValue[] keys, OrtValue[] values)
    {
        _keys = keys;
        _values = values;
    }

    public int NumLayers => _keys.Length;
    public long Length => _keys[0].GetTensorTypeAndShape().Shape[2];

    internal OrtValue Key(int layer) => _keys[layer];
    internal OrtValue Value(int layer) => _values[layer];

    /// <summary>Layer <paramref name="layer"/>'s keys, row-major [batch, kv_heads, length, head_dim].</summary>
    public ReadOnlySpan<float> Keys(int layer) => _keys[layer].GetTensorDataAsSpan<float>();
    public ReadOnlySpan<float> Values(int layer) => _values[layer].GetTensorDataAsSpan<float>();

    /// <summary>
    /// A cache over caller-owned arrays, each [batch, kvHeads, length, headDim] row-major; the arrays must stay
    /// unchanged until the cache is disposed (ONNX Runtime reads them in place).
    /// </summary>
    public static OnnxKvCache FromArrays(IReadOnlyList<float[]> keys, IReadOnlyList<float[]> values, int batch, int kvHeads, long length, int headDim)
    {
        long[] shape = [batch, kvHeads, length, headDim];
        return new OnnxKvCache(
            keys.Select(k => OrtValue.CreateTensorValueFromMemory(k, shape)).ToArray(),
            values.Select(v => OrtValue.CreateTensorValueFromMemory(v, shape)).ToArray());
    }

    /// <summary>
    /// A cache over caller-owned memory (e.g. prefixes of buffers reused across steps), each [batch, kvHeads, length,
    /// headDim] row-major; the memory must stay unchanged until the cache is disposed.
    /// </summary>
    public static OnnxKvCache FromMemory(IReadOnlyList<Memory<float>> keys, IReadOnlyList<Memory<float>> values, int batch, int kvHeads, long length, int headDim)
    {
        long[] shape = [batch, kvHeads, length, headDim];
        return new OnnxKvCache(
            keys.Select(k => OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, k, shape)).ToArray(),
            values.Select(v => OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, v, shape)).ToArray());
    }

    /// <summary>A zero-length cache for <paramref name="batch"/> sequences (the prefill step's past); keys and values may differ in width.</summary>
    public static OnnxKvCache Empty(int numLayers, int batch, int heads, int keyDim, int valueDim)
    {
        OrtValue Zero(int dim) => OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [batch, heads, 0, dim]);
        return new OnnxKvCache(
            Enumerable.Range(0, numLayers).Select(_ => Zero(keyDim)).ToArray(),
            Enumerable.Range(0, numLayers).Select(_ => Zero(valueDim)).ToArray());
    }

    public void Dispose()
    {
        foreach (var v in _keys) v.Dispose();
        foreach (var v in _values) v.Dispose();
    }
}
