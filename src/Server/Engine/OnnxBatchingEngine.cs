using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using DesMoe.Formats.Config;
using DesMoe.Onnx.Generation;
using DesMoe.Onnx;
using DesMoe.Formats.Tokenization;
using DesMoe.Server.Engine.Decoding;
using DesMoe.Server.Telemetry;

namespace DesMoe.Server.Engine;

/// <summary>
/// Serves an exported ONNX model with continuous batching. One scheduler thread owns the model: between decode steps
/// it admits waiting requests (prefilled together), drops cancelled ones, and then decodes one token for every
/// active sequence in a single batched run, whatever their domains and lengths. The batch's KV cache stays in
/// preallocated slot buffers across steps (<see cref="KvSlots"/>), each sequence right-aligned in its row with the
/// padding masked, so a sequence decodes as it would alone; a step binds those buffers and a few small pinned
/// tensors (<see cref="DecodeBuffers"/>) and ONNX Runtime writes the next cache and the logits in place.
/// Row i of the batch is <c>active[i]</c>: a leaving sequence's row is taken by the last one, in both.
/// </summary>
public sealed class OnnxBatchingEngine : IGenerationEngine, IDisposable
{
    private readonly OnnxDecoder _decoder;
    private readonly BatchingOptions _options;
    private readonly Channel<ActiveSequence> _waiting;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _scheduler;
    private readonly ILogger _logger;
    private readonly KvSlots _slots;
    private readonly DecodeBuffers _buffers;
    private readonly OnnxStepBinding _binding;
    private readonly Telemetry.ExpertUtilization _utilization;
    private readonly IDisposable? _ownedKvMemory;
    private int _stepsSinceFlush;
    private int _inFlight;

    public OnnxBatchingEngine(OnnxDecoder decoder, BatchingOptions options, string modelVersion, long parameterCount, ILogger logger,
        Routing.DomainClassifier? domainClassifier = null)
        : this(decoder, options, modelVersion, parameterCount, logger, domainClassifier, KvMemoryFor(decoder.ExecutionProvider))
    {
    }

    /// <param name="kvMemory">where the KV slots live: null for managed host arrays, else native buffers in that memory (owned when disposable)</param>
    internal OnnxBatchingEngine(OnnxDecoder decoder, BatchingOptions options, string modelVersion, long parameterCount, ILogger logger,
        Routing.DomainClassifier? domainClassifier, IKvMemory? kvMemory)
    {
        DomainClassifier = domainClassifier;
        _decoder = decoder;
        _options = options;
        _logger = logger;
        ModelVersion = modelVersion;
        ParameterCount = parameterCount;
        var config = decoder.Info.Config;
        _utilization = new Telemetry.ExpertUtilization(decoder.Info.Domains, config.NumMoeLayers, config.NumRoutedExperts);
        ContextWindow = Math.Min(options.ContextWindow, config.MaxPositions);
        _ownedKvMemory = kvMemory as IDisposable;
        try
        {
            Func<long, IKvBuffer> allocate = kvMemory is null ? length => new HostKvBuffer(length) : length => new NativeKvBuffer(kvMemory, length);
            _slots = new KvSlots(config.NumLayers, options.MaxBatch, config.CacheHeads, ContextWindow, config.KeyCacheDim, config.ValueCacheDim, allocate);
            // Current and other buffer per layer, keys and values, every slot at the full window.
            long bytes = 2L * options.MaxBatch * ContextWindow * KvBytesPerPosition;
            logger.LogInformation("KV cache: {Slots} slots x {Positions} positions, {Megabytes:F1} MB in {Memory}",
                options.MaxBatch, ContextWindow, bytes / 1e6, kvMemory?.Name ?? "managed host memory");
        }
        catch
        {
            _ownedKvMemory?.Dispose();
            throw;
        }
        _buffers = new DecodeBuffers(options.MaxBatch, ContextWindow, config.VocabSize, decoder.ReportsRouting ? config.NumMoeLayers : 0, config.TopK);
        _binding = decoder.CreateStepBinding();
        _waiting = Channel.CreateUnbounded<ActiveSequence>(new UnboundedChannelOptions { SingleReader = true });
        _scheduler = Task.Factory.StartNew(RunScheduler, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// The KV cache lives where the provider computes: in device memory under CUDA, so a decode step moves only the
    /// token ids, masks and logits across PCIe instead of the whole cache both ways; in managed host arrays on the CPU.
    /// </summary>
    private static IKvMemory? KvMemoryFor(string executionProvider) =>
        executionProvider == OnnxSessionFactory.CudaProvider ? new CudaKvMemory(OnnxSessionFactory.CudaDevice) : null;

    public MoeConfig Config => _decoder.Info.Config;
    public ITextTokenizer Tokenizer => _decoder.Info.Tokenizer;
    public string ModelPath => _decoder.ModelPath;
    public string ModelVersion { get; }
    public string ExecutionProvider => _decoder.ExecutionProvider;
    public long ParameterCount { get; }
    public int ContextWindow { get; }
    public IReadOnlyList<string> Domains => _decoder.Info.Domains;
    public Routing.DomainClassifier? DomainClassifier { get; }

    /// <summary>Sequences in the running batch (for metrics and tests).</summary>
    public int Active { get; private set; }

    private long _kvCacheBytes;

    public EngineStats Stats => new(Math.Max(0, InFlight - Active), Active, Interlocked.Read(ref _kvCacheBytes));

    /// <summary>Requests accepted and not yet finished: the running batch plus those waiting for a slot.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    private int Capacity => _options.MaxBatch + _options.QueueCapacity;

    /// <summary>Keys and values of every layer for one position of one sequence, in bytes.</summary>
    private long KvBytesPerPosition => (long)Config.NumLayers * Config.CacheHeads * (Config.KeyCacheDim + Config.ValueCacheDim) * sizeof(float);

    public async IAsyncEnumerable<GenerationStep> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellation)
    {
        if (Interlocked.Increment(ref _inFlight) > Capacity)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new EngineOverloadedException(_options.MaxBatch, _options.QueueCapacity);
        }
        try
        {
            var sequence = new ActiveSequence(request, _decoder.Info.DomainId(request.Domain ?? ""), ContextWindow, Tokenizer, cancellation);
            if (!_waiting.Writer.TryWrite(sequence)) throw new EngineStoppedException();
            await foreach (var step in sequence.Steps.ReadAllAsync(cancellation))
                yield return step;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>
    /// The decode loop, on the engine's own thread for its whole life: it blocks that thread while there is nothing to
    /// decode instead of awaiting. Awaiting moved the loop onto a thread-pool worker, which it then held for as long as
    /// the batch ran, leaving the pool one worker fewer for Kestrel, the response writes and the continuations that
    /// deliver each token (on 2 cores: one of two).
    /// </summary>
    private void RunScheduler()
    {
        Thread.CurrentThread.Name = "desmoe-engine";
        var active = new List<ActiveSequence>();
        var stop = _stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (active.Count == 0 && !_waiting.Reader.WaitToReadAsync(stop).AsTask().GetAwaiter().GetResult()) break;
                var admitted = new List<ActiveSequence>();
                while (active.Count + admitted.Count < _options.MaxBatch && _waiting.Reader.TryRead(out var next))
                {
                    if (next.Cancellation.IsCancellationRequested) next.Complete(new OperationCanceledException(next.Cancellation));
                    else admitted.Add(next);
                }
                if (admitted.Count > 0) Prefill(admitted, active);
                for (int row = active.Count - 1; row >= 0; row--)
                {
                    var s = active[row];
                    if (!s.Cancellation.IsCancellationRequested) continue;
                    s.Complete(new OperationCanceledException(s.Cancellation));
                    Leave(active, row);
                }
                if (active.Count > 0) DecodeStep(active);
                else _utilization.Flush();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (PrefillFailedException e)
            {
                _logger.LogError(e.InnerException, "Prefill failed; the admitted requests failed, the running batch goes on");
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Decode step failed; failing the {Count} sequences in the batch", active.Count);
                foreach (var s in active) s.Complete(e);
                active.Clear();
                _slots.Clear();
            }
            Active = active.Count;
            Interlocked.Exchange(ref _kvCacheBytes, _slots.TotalLength * KvBytesPerPosition);
        }
        _utilization.Flush();
        foreach (var s in active) s.Complete(new EngineStoppedException());
        while (_waiting.Reader.TryRead(out var left)) left.Complete(new EngineStoppedException());
    }

    /// <summary>
    /// Prefills the newly admitted sequences together: prompts left-padded to the longest, padding masked, each row
    /// with its own positions and domain, so every row computes what it would alone.
    /// </summary>
    /// <remarks>The sequences that go on decoding (not finished by their first token) join <paramref name="active"/> and the KV slots.</remarks>
    private void Prefill(List<ActiveSequence> admitted, List<ActiveSequence> active)
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
            bool logits = NeedsLogits(admitted);
            using var output = _decoder.Run(new OnnxStepInput(b, width, ids, mask, positions, admitted.Select(s => (long)s.DomainId).ToArray()), empty, logits);
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
            if (continuing.Count == 0) return;
            // Widen first (the only step here that can refuse), so either every continuing row joins or none does.
            _slots.Reserve(continuing.Max(row => admitted[row].Request.PromptTokens.Count));
            foreach (int row in continuing)
            {
                _slots.Add(output.Present, row, width, admitted[row].Request.PromptTokens.Count);
                active.Add(admitted[row]);
            }
        }
        catch (Exception e)
        {
            foreach (var s in admitted) s.Complete(e);
            throw new PrefillFailedException(e);
        }
        finally
        {
            foreach (var span in spans) span?.Dispose();
        }
    }

    /// <summary>A failed prefill already failed its own sequences; the running batch is not affected.</summary>
    private sealed class PrefillFailedException(Exception inner) : Exception("prefill failed", inner);

    /// <summary>
    /// Decodes one token for every row: the rows' last tokens, positions and masks in, the resident KV buffers bound
    /// as past and present, the logits (and routed experts) written into pinned buffers the sampler reads.
    /// </summary>
    private void DecodeStep(List<ActiveSequence> batch)
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

        Span<bool> goesOn = b <= 256 ? stackalloc bool[b] : new bool[b];
        bool anyFinished = false;
        for (int row = 0; row < b; row++)
        {
            var s = batch[row];
            goesOn[row] = PicksFromTopTokens(s) ? s.EmitGreedy(_buffers.TopTokens(row)) : s.Emit(_buffers.Logits(row));
            anyFinished |= !goesOn[row];
        }
        // Descending, so the last row that moves into a leaving row's place has been looked at already.
        for (int row = b - 1; row >= 0; row--)
            if (!goesOn[row]) Leave(batch, row);
        // Publish the expert counts when a request ends (its figures are complete) and at least every 16 steps.
        if (anyFinished || ++_stepsSinceFlush >= 16)
        {
            _utilization.Flush();
            _stepsSinceFlush = 0;
        }
    }

    /// <summary>
    /// A greedy row picks from the graph's top tokens whenever the model has them, whatever its batch-mates do, so
    /// its tokens never depend on them; the logits are fetched only for rows that sample (or from older exports).
    /// Under CUDA a step of greedy rows thus leaves the logits [rows, vocab] on the device.
    /// </summary>
    private bool PicksFromTopTokens(ActiveSequence s) => s.IsGreedy && _decoder.ReportsTopTokens;

    private bool NeedsLogits(List<ActiveSequence> rows)
    {
        foreach (var s in rows)
            if (!PicksFromTopTokens(s)) return true;
        return false;
    }

    /// <summary>Removes row <paramref name="row"/> from the batch and the KV slots, moving the last row into its place in both.</summary>
    private void Leave(List<ActiveSequence> batch, int row)
    {
        _slots.RemoveAt(row);
        int last = batch.Count - 1;
        batch[row] = batch[last];
        batch.RemoveAt(last);
    }

    public void Dispose()
    {
        _waiting.Writer.TryComplete();
        _stopping.Cancel();
        try
        {
            _scheduler.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
        }
        _binding.Dispose();
        _slots.Dispose();
        _ownedKvMemory?.Dispose();
        _decoder.Dispose();
        _stopping.Dispose();
    }

    /// <summary>A request between admission and completion: its decoding state, cache and output channel.</summary>
    private sealed class ActiveSequence
    {
        private readonly GenerationSession _session;
        private readonly Channel<GenerationStep> _steps = Channel.CreateUnbounded<GenerationStep>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });

        public ActiveSequence(GenerationRequest request, int domainId, int contextWindow, ITextTokenizer tokenizer, CancellationToken cancellation)
        {
            Request = request;
            DomainId = domainId;
            Cancellation = cancellation;
            Parent = Activity.Current?.Context ?? default;
            Queued = ServerTelemetry.StartChild("desmoe.queue", Parent);
            int budget = Math.Min(request.MaxNewTokens, contextWindow - request.PromptTokens.Count);
            _session = new GenerationSession(tokenizer, request.Sampling, request.Seed, budget, request.Stops, request.IgnoreEndOfText);
        }

        public GenerationRequest Request { get; }
        public int DomainId { get; }
        public CancellationToken Cancellation { get; }
        public int LastToken { get; private set; }
        public ChannelReader<GenerationStep> Steps => _steps.Reader;

        /// <summary>The request's span, the parent of this sequence's queue, prefill and decode spans.</summary>
        public ActivityContext Parent { get; }
        public Activity? Queued { get; }
        public Activity? Decoding { get; set; }

        public bool IsGreedy => _session.IsGreedy;

        /// <returns>whether the sequence goes on</returns>
        public bool Emit(ReadOnlySpan<float> logits) => Publish(_session.Step(logits));

        /// <summary>A greedy step from the graph's likeliest tokens (see <see cref="GenerationSession.StepGreedy"/>).</summary>
        /// <returns>whether the sequence goes on</returns>
        public bool EmitGreedy(ReadOnlySpan<long> topTokens) => Publish(_session.StepGreedy(topTokens));

        private bool Publish(GenerationStep step)
        {
            LastToken = step.Token;
            _steps.Writer.TryWrite(step);
            _generated++;
            if (step.Finish is null) return true;
            _steps.Writer.TryComplete();
            EndSpans(null);
            return false;
        }

        public void Complete(Exception error)
        {
            _steps.Writer.TryComplete(error);
            EndSpans(error);
        }

        private int _generated;

        private void EndSpans(Exception? error)
        {
            Queued?.Dispose();
            if (Decoding is null) return;
            Decoding.SetTag("desmoe.completion_tokens", _generated);
            if (error is not null) Decoding.SetStatus(ActivityStatusCode.Error, error.Message);
            Decoding.Dispose();
        }
    }
}
