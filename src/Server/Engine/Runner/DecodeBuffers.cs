using DesMoe.Server.KvCache;
using DesMoe.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.Engine.Runner;

/// <summary>
/// The small per-step tensors of a decode step, allocated once for the largest batch on the pinned object heap:
/// inputs ids, positions and domains [rows], mask [rows, width + 1]; outputs logits [rows, vocab], the routed
/// experts per layer [rows, top_k] and the graph's top tokens [rows, 2]. Each step writes its rows here and binds
/// views of the first rows.
/// </summary>
internal sealed class DecodeBuffers
{
    private readonly long[] _ids, _positions, _domains, _mask, _topTokens;
    private readonly float[] _logits;
    private readonly long[][] _routerExperts;
    private readonly int _context, _vocab, _topK;

    /// <param name="routingLayers">layers whose routed experts the model reports (0 when it reports none)</param>
    public DecodeBuffers(int maxRows, int context, int vocab, int routingLayers, int topK)
    {
        (_context, _vocab, _topK) = (context, vocab, topK);
        _ids = GC.AllocateArray<long>(maxRows, pinned: true);
        _positions = GC.AllocateArray<long>(maxRows, pinned: true);
        _domains = GC.AllocateArray<long>(maxRows, pinned: true);
        _mask = GC.AllocateArray<long>(maxRows * context, pinned: true);
        _logits = GC.AllocateArray<float>(maxRows * vocab, pinned: true);
        _topTokens = GC.AllocateArray<long>(maxRows * OnnxNames.TopTokenCount, pinned: true);
        _routerExperts = Enumerable.Range(0, routingLayers).Select(_ => GC.AllocateArray<long>(maxRows * topK, pinned: true)).ToArray();
    }

    public int MaxRows => _ids.Length;

    /// <summary>Row <paramref name="row"/>'s last token, its position (= cached <paramref name="length"/>), domain, and mask over a past of <paramref name="width"/>: ones on its cache and the new token, right-aligned.</summary>
    public void SetRow(int row, int width, int token, int length, int domain)
    {
        if (width + 1 > _context) throw new ArgumentOutOfRangeException(nameof(width), width, $"a past of {width} positions and the new token exceed the context of {_context}");
        if (length > width) throw new ArgumentOutOfRangeException(nameof(length), length, $"row {row} caches more positions than the width {width}");
        _ids[row] = token;
        _positions[row] = length;
        _domains[row] = domain;
        var mask = _mask.AsSpan(row * (width + 1), width + 1);
        mask[..(width - length)].Clear();
        mask[(width - length)..].Fill(1);
    }

    /// <summary>Views of the first <paramref name="rows"/> rows bound with the step's KV views; dispose after the run.</summary>
    /// <param name="logits">bind the logits (some row samples, or the model has no top tokens)</param>
    /// <param name="topTokens">bind the graph's top tokens (the model has them)</param>
    public StepTensors Bind(int rows, int width, KvStepTensors kv, bool logits = true, bool topTokens = false)
    {
        var owned = new List<OrtValue>();
        OrtValue Own<T>(T[] data, int count, long[] shape) where T : unmanaged
        {
            var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data.AsMemory(0, count), shape);
            owned.Add(value);
            return value;
        }
        try
        {
            var step = new OnnxBoundStep(
                Own(_ids, rows, [rows, 1]), Own(_mask, rows * (width + 1), [rows, width + 1]), Own(_positions, rows, [rows, 1]), Own(_domains, rows, [rows]),
                kv.PastKeys, kv.PastValues,
                logits ? Own(_logits, rows * _vocab, [rows, 1, _vocab]) : null, kv.PresentKeys, kv.PresentValues,
                _routerExperts.Select(r => Own(r, rows * _topK, [rows, _topK])).ToArray(),
                topTokens ? Own(_topTokens, rows * OnnxNames.TopTokenCount, [rows, 1, OnnxNames.TopTokenCount]) : null);
            return new StepTensors(step, owned);
        }
        catch
        {
            foreach (var v in owned) v.Dispose();
            throw;
        }
    }

    /// <summary>The logits after the last step for <paramref name="row"/> [vocab].</summary>
    public ReadOnlySpan<float> Logits(int row) => _logits.AsSpan(row * _vocab, _vocab);

    /// <summary>The graph's likeliest tokens after the last step for <paramref name="row"/>, best first (when bound).</summary>
    public ReadOnlySpan<long> TopTokens(int row) => _topTokens.AsSpan(row * OnnxNames.TopTokenCount, OnnxNames.TopTokenCount);

    /// <summary>Layer <paramref name="layer"/>'s routed experts after the last step, [rows, top_k].</summary>
    public ReadOnlySpan<long> RouterExperts(int layer, int rows) => _routerExperts[layer].AsSpan(0, rows * _topK);

    /// <summary>The domains of the first <paramref name="rows"/> rows of the last step.</summary>
    public ReadOnlySpan<long> Domains(int rows) => _domains.AsSpan(0, rows);

    public bool ReportsRouting => _routerExperts.Length > 0;
    public int RoutingLayers => _routerExperts.Length;
}
