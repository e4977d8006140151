using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.KvCache;

/// <summary>
/// One decode step's views of the resident KV buffers, per layer: past [rows, kv_heads, width, head_dim] over the
/// current buffers and present [rows, kv_heads, width + 1, head_dim] over the others. Disposing frees the views only.
/// </summary>
internal sealed class KvStepTensors(OrtValue[] pastKeys, OrtValue[] pastValues, OrtValue[] presentKeys, OrtValue[] presentValues) : IDisposable
{
    public IReadOnlyList<OrtValue> PastKeys => pastKeys;
    public IReadOnlyList<OrtValue> PastValues => pastValues;
    public IReadOnlyList<OrtValue> PresentKeys => presentKeys;
    public IReadOnlyList<OrtValue> PresentValues => presentValues;

    public void Dispose()
    {
        foreach (var set in new[] { pastKeys, pastValues, presentKeys, presentValues })
            foreach (var value in set) value.Dispose();
    }
}
