using DesMoe.Formats.Config;
using DesMoe.Onnx;
using DesMoe.Server.Engine.Scheduling;
using DesMoe.Server.KvCache;
using DesMoe.Server.Telemetry;

namespace DesMoe.Server.Engine.Runner;

/// <summary>
/// Executes the steps the scheduler (<see cref="BatchScheduler"/>) decides on, as vLLM's model runner does: a prefill of
/// newly admitted sequences, or one decode step of the running batch. It owns what a step needs: the decoder, the KV
/// cache in preallocated slot buffers across steps (<see cref="KvSlots"/>, each sequence right-aligned in its row with
/// the padding masked, so a sequence decodes as it would alone), the small pinned step tensors
/// (<see cref="DecodeBuffers"/>) and the expert-utilization counts. Row i of the KV slots is the batch's row i.
/// </summary>
internal sealed class OnnxModelRunner : IDisposable
{
    private readonly OnnxDecoder _decoder;
    private readonly KvSlots _slots;
    private readonly DecodeBuffers _buffers;
    private readonly OnnxStepBinding _binding;
    private readonly ExpertUtilization _utilization;
    private readonly IDisposable? _ownedKvMemory;
    private int _stepsSinceFlush;

    /// <param name="kvMemory">where the KV slots live: null for managed host arrays, else native buffers in that memory (owned when disposable)</param>
    public OnnxModelRunner(OnnxDecoder decoder, int maxBatch, int contextWindow, IKvMemory? kvMemory, ILogger logger)
    {
        _decoder = decoder;
        var config = decoder.Info.Config;
        _utilization = new ExpertUtilization(decoder.Info.Domains, config.NumMoeLayers, config.NumRoutedExperts);
        _ownedKvMemory = kvMemory as IDisposable;
        try
        {
            Func<long, IKvBuffer> allocate = kvMemory is null ? length => new HostKvBuffer(length) : length => new NativeKvBuffer(kvMemory, length);
            _slots = new KvSlots(config.NumLayers, maxBatch, config.CacheHeads, contextWindow, config.KeyCacheDim, config.ValueCacheDim, allocate);
            // Current and other buffer per layer, keys and values, every slot at the full window.
            long bytes = 2L * maxBatch * contextWindow * KvBytesPerPosition(config);
            logger.LogInformation("KV cache: {Slots} slots x {Positions} positions, {Megabytes:F1} MB in {Memory}",
                maxBatch, contextWindow, bytes / 1e6, kvMemory?.Name ?? "managed host memory");
        }
        catch
        {
            _ownedKvMemory?.Dispose();
            throw;
        }
        _buffers = new DecodeBuffers(maxBatch, contextWindow, config.VocabSize, decoder.ReportsRouting ? config.NumMoeLayers : 0, config.TopK);
        _binding = decoder.CreateStepBinding();
    }

    /// <summary>Bytes the running batch's cached positions take.</summary>
    public long KvCacheBytes => _slots.TotalLength * KvBytesPerPosition(_decoder.Info.Config);

    /// <summary>Keys and values of every layer for one position of one sequence, in bytes.</summary>
    private static long KvBytesPerPosition(MoeConfig config) =>
        (long)config.NumLayers * config.CacheHeads * (config.KeyCacheDim + config.ValueCacheDim) * sizeof(float);

    /// <summary>
    /// Prefills the newly admitted sequences together and emits each one's first token: prompts left-padded to the
    /// longest, padding masked, each row with its own positions and domain, so every row computes what it would alone.
    /// </summary>
    /// <returns>the sequences that go on decoding, in the order they joined the KV slots (after the running batch's rows)</returns>
    /// <remarks>On failure every admitted sequence is failed and the exception is rethrown; the running batch is untouched.</remarks>
    public List<Sequence> Prefill(List<Sequence> admitted)
    {
        int b = admitted.Count, width = admitted.Max(s => s.Request.PromptTokens.Count);
        var spans = admitted.Select(s =>
        {
            s.Queued?.Dispose();
            var span = ServerTelemetry.StartChild("desmoe.prefill", s.Parent);
            span?.SetTag("desmoe.prompt_tokens", s.Request.PromptTokens.Count).SetTag("desmoe.prefill_batch", b);
            return span;
        }).ToList();
        try
        {
            var ids = new long[b * width];
            var mask = new long[b * width];
            var positions = new long[b * width];
            for (int row = 0; row < b; row++)
            {
                var prompt = admitted[row].Request.PromptTokens;
                int pad = width - prompt.Count;
                for (int i = 0; i < prompt.Count; i++)
                {
                    ids[row * width + pad + i] = prompt[i];
                    mask[row * width + pad + i] = 1;
                    positions[row * width + pad + i] = i;
                }
            }
            using var empty = _decoder.EmptyCache(b);
            using var output = _decoder.Run(new OnnxStepInput(b, width, ids, mask, positions, admitted.Select(s => (long)s.DomainId).ToArray()), empty,
                NeedsLogits(admitted));
            _utilization.Record(output, admitted.Select(s => s.DomainId).ToList());
            var continuing = new List<int>(b);
            for (int row = 0; row < b; row++)
            {
                var s = admitted[row];
                bool goesOn = PicksFromTopTokens(s) ? s.EmitGreedy(output.LastTopTokens(row)) : s.Emit(output.LastLogits(row));
                if (!goesOn) continue;
                s.Decoding = ServerTelemetry.StartChild("desmoe.decode", s.Parent);
                continuing.Add(row);
            }
            var joined = new List<Sequence>(continuing.Count);
            if (continuing.Count == 0) return joined;
            // Widen first (the only step here that can refuse), so either every continuing row joins or none does.
            _slots.Reserve(continuing.Max(row => admitted[row].Request.PromptTokens.Count));
            foreach (int row in continuing)
            {
                _slots.Add(output.Present, row, width, admitted[row].Request.PromptTokens.Count);
                joined.Add(admitted[row]);
            }
            return joined;
        }
        catch (Exception e)
        {
            foreach (var s in admitted) s.Complete(e);
            throw;
        }
        finally
        {
            foreach (var span in spans) span?.Dispose();
        }
    }

    /// <summary>
    /// Decodes one token for every row: the rows' last tokens, positions and masks in, the resident KV buffers bound
    /// as past and present, the logits (and routed experts) written into pinned buffers the sampler reads.
    /// </summary>
    /// <param name="goesOn">set per row: whether that sequence goes on (false: it finished with this token)</param>
    public void Decode(List<Sequence> batch, Span<bool> goesOn)
    {
        int b = batch.Count;
        _slots.PrepareStep();
        int width = _slots.Width;
        ServerTelemetry.BatchSize.Record(b);
        for (int row = 0; row < b; row++) _buffers.SetRow(row, width, batch[row].LastToken, _slots.Length(row), batch[row].DomainId);
        using (var kv = _slots.Bind())
        using (var tensors = _buffers.Bind(b, width, kv, NeedsLogits(batch), _decoder.ReportsTopTokens))
            _binding.Run(tensors.Step);
        _slots.Advance();
        for (int l = 0; l < _buffers.RoutingLayers; l++) _utilization.Count(l, _buffers.RouterExperts(l, b), 1, _buffers.Domains(b));

        bool anyFinished = false;
        for (int row = 0; row < b; row++)
        {
            var s = batch[row];
            goesOn[row] = PicksFromTopTokens(s) ? s.EmitGreedy(_buffers.TopTokens(row)) : s.Emit(_buffers.Logits(row));
            anyFinished |= !goesOn[row];
        }
        // Publish the expert counts when a request ends (its figures are complete) and at least every 16 steps.
        if (anyFinished || ++_stepsSinceFlush >= 16)
        {
            _utilization.Flush();
            _stepsSinceFlush = 0;
        }
    }

    /// <summary>Frees row <paramref name="row"/>'s KV slot; the last row moves into its place (as the scheduler's batch does).</summary>
    public void RemoveRow(int row) => _slots.RemoveAt(row);

    /// <summary>Frees every KV slot, after a failed step failed the whole batch.</summary>
    public void Clear() => _slots.Clear();

    /// <summary>Publishes the expert counts gathered so far (the engine is idle or stopping).</summary>
    public void FlushUtilization() => _utilization.Flush();

    /// <summary>
    /// A greedy row picks from the graph's top tokens whenever the model has them, whatever its batch-mates do, so
    /// its tokens never depend on them; the logits are fetched only for rows that sample (or from older exports).
    /// Under CUDA a step of greedy rows thus leaves the logits [rows, vocab] on the device.
    /// </summary>
    private bool PicksFromTopTokens(Sequence s) => s.IsGreedy && _decoder.ReportsTopTokens;

    private bool NeedsLogits(List<Sequence> rows)
    {
        foreach (var s in rows)
            if (!PicksFromTopTokens(s)) return true;
        return false;
    }

    public void Dispose()
    {
        _binding.Dispose();
        _slots.Dispose();
        _ownedKvMemory?.Dispose();
    }
}
