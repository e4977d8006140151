using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using DesMoe.Core.Config;
using DesMoe.Core.Generation;
using DesMoe.Core.Onnx;
using DesMoe.Core.Tokenization;
using DesMoe.Server.Telemetry;

namespace DesMoe.Server.Engine;

/// <summary>
/// Serves an exported ONNX model with continuous batching. One scheduler thread owns the model: between decode steps
/// it admits waiting requests (each prefilled on its own), drops cancelled ones, and then decodes one token for every
/// active sequence in a single batched run, whatever their domains and lengths. Each sequence keeps its own KV cache,
/// laid right-aligned into the batch with the padding masked, so a sequence decodes as it would alone.
/// </summary>
public sealed class OnnxBatchingEngine : IGenerationEngine, IDisposable
{
    private readonly OnnxDecoder _decoder;
    private readonly BatchingOptions _options;
    private readonly Channel<ActiveSequence> _waiting;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _scheduler;
    private readonly ILogger _logger;
    // The batch's padded past keys and values per layer, reused every decode step: [MaxBatch, kv_heads, context, head_dim] at most.
    private readonly float[][] _pastKeys;
    private readonly float[][] _pastValues;
    private readonly Telemetry.ExpertUtilization _utilization;
    private int _inFlight;

    public OnnxBatchingEngine(OnnxDecoder decoder, BatchingOptions options, string modelVersion, long parameterCount, ILogger logger,
        Routing.DomainClassifier? domainClassifier = null)
    {
        DomainClassifier = domainClassifier;
        _decoder = decoder;
        _options = options;
        _logger = logger;
        ModelVersion = modelVersion;
        ParameterCount = parameterCount;
        var config = decoder.Info.Config;
        _utilization = new Telemetry.ExpertUtilization(decoder.Info.Domains, config.NumLayers, config.NumRoutedExperts);
        int capacity = options.MaxBatch * config.NumKvHeads * config.MaxPositions * config.HeadDim;
        _pastKeys = Enumerable.Range(0, config.NumLayers).Select(_ => new float[capacity]).ToArray();
        _pastValues = Enumerable.Range(0, config.NumLayers).Select(_ => new float[capacity]).ToArray();
        _waiting = Channel.CreateUnbounded<ActiveSequence>(new UnboundedChannelOptions { SingleReader = true });
        _scheduler = Task.Factory.StartNew(RunScheduler, TaskCreationOptions.LongRunning).Unwrap();
    }

    public MoeConfig Config => _decoder.Info.Config;
    public ITextTokenizer Tokenizer => _decoder.Info.Tokenizer;
    public string ModelPath => _decoder.ModelPath;
    public string ModelVersion { get; }
    public string ExecutionProvider => _decoder.ExecutionProvider;
    public long ParameterCount { get; }
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
    private long KvBytesPerPosition => 2L * Config.NumLayers * Config.NumKvHeads * Config.HeadDim * sizeof(float);

    public async IAsyncEnumerable<GenerationStep> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellation)
    {
        if (Interlocked.Increment(ref _inFlight) > Capacity)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new EngineOverloadedException(_options.MaxBatch, _options.QueueCapacity);
        }
        try
        {
            var sequence = new ActiveSequence(request, _decoder.Info.DomainId(request.Domain ?? ""), Config, Tokenizer, cancellation);
            if (!_waiting.Writer.TryWrite(sequence)) throw new EngineStoppedException();
            await foreach (var step in sequence.Steps.ReadAllAsync(cancellation))
                yield return step;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task RunScheduler()
    {
        var active = new List<ActiveSequence>();
        var stop = _stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (active.Count == 0 && !await _waiting.Reader.WaitToReadAsync(stop)) break;
                var admitted = new List<ActiveSequence>();
                while (active.Count + admitted.Count < _options.MaxBatch && _waiting.Reader.TryRead(out var next))
                {
                    if (next.Cancellation.IsCancellationRequested) next.Complete(new OperationCanceledException(next.Cancellation));
                    else admitted.Add(next);
                }
                if (admitted.Count > 0) active.AddRange(Prefill(admitted));
                active.RemoveAll(s =>
                {
                    if (!s.Cancellation.IsCancellationRequested) return false;
                    s.Complete(new OperationCanceledException(s.Cancellation));
                    return true;
                });
                if (active.Count > 0) DecodeStep(active);
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
            }
            Active = active.Count;
            Interlocked.Exchange(ref _kvCacheBytes, active.Sum(a => (long)a.Cache.Length) * KvBytesPerPosition);
        }
        foreach (var s in active) s.Complete(new EngineStoppedException());
        while (_waiting.Reader.TryRead(out var left)) left.Complete(new EngineStoppedException());
    }

    /// <summary>
    /// Prefills the newly admitted sequences together: prompts left-padded to the longest, padding masked, each row
    /// with its own positions and domain, so every row computes what it would alone.
    /// </summary>
    /// <returns>the sequences that go on decoding (not finished by their first token)</returns>
    private List<ActiveSequence> Prefill(List<ActiveSequence> admitted)
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
            using var output = _decoder.Run(new OnnxStepInput(b, width, ids, mask, positions, admitted.Select(s => (long)s.DomainId).ToArray()), empty);
            _utilization.Record(output, admitted.Select(s => s.DomainId).ToList());
            var continuing = new List<ActiveSequence>(b);
            for (int row = 0; row < b; row++)
            {
                var s = admitted[row];
                int n = s.Request.PromptTokens.Count;
                for (int l = 0; l < Config.NumLayers; l++)
                    s.Cache.Append(l, output.Present.Keys(l), output.Present.Values(l), row, width, width - n, n);
                s.Cache.Advance(n);
                if (!s.Emit(output.LastLogits(row))) continue;
                s.Decoding = ServerTelemetry.StartChild("desmoe.decode", s.Parent);
                continuing.Add(s);
            }
            return continuing;
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

    private void DecodeStep(List<ActiveSequence> batch)
    {
        int b = batch.Count, width = batch.Max(s => s.Cache.Length), kvHeads = Config.NumKvHeads, headDim = Config.HeadDim;
        int size = b * kvHeads * width * headDim;
        for (int l = 0; l < Config.NumLayers; l++)
            for (int row = 0; row < b; row++) batch[row].Cache.CopyInto(l, _pastKeys[l], _pastValues[l], row, width);
        ServerTelemetry.BatchSize.Record(b);
        var mask = new long[b * (width + 1)];
        for (int row = 0; row < b; row++)
            Array.Fill(mask, 1L, row * (width + 1) + width - batch[row].Cache.Length, batch[row].Cache.Length + 1);
        var input = new OnnxStepInput(b, 1,
            batch.Select(s => (long)s.LastToken).ToArray(), mask,
            batch.Select(s => (long)s.Cache.Length).ToArray(),
            batch.Select(s => (long)s.DomainId).ToArray());

        using var past = OnnxKvCache.FromMemory(_pastKeys.Select(k => k.AsMemory(0, size)).ToList(), _pastValues.Select(v => v.AsMemory(0, size)).ToList(),
            b, kvHeads, width, headDim);
        using var output = _decoder.Run(input, past);
        _utilization.Record(output, batch.Select(s => s.DomainId).ToList());
        for (int row = 0; row < b; row++)
        {
            for (int l = 0; l < Config.NumLayers; l++)
                batch[row].Cache.Append(l, output.Present.Keys(l), output.Present.Values(l), row, width + 1, width, 1);
            batch[row].Cache.Advance(1);
        }
        var finished = new List<ActiveSequence>();
        for (int row = 0; row < b; row++)
            if (!batch[row].Emit(output.LastLogits(row))) finished.Add(batch[row]);
        batch.RemoveAll(finished.Contains);
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
        _decoder.Dispose();
        _stopping.Dispose();
    }

    /// <summary>A request between admission and completion: its decoding state, cache and output channel.</summary>
    private sealed class ActiveSequence
    {
        private readonly GenerationSession _session;
        private readonly Channel<GenerationStep> _steps = Channel.CreateUnbounded<GenerationStep>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });

        public ActiveSequence(GenerationRequest request, int domainId, MoeConfig config, ITextTokenizer tokenizer, CancellationToken cancellation)
        {
            Request = request;
            DomainId = domainId;
            Cancellation = cancellation;
            Parent = Activity.Current?.Context ?? default;
            Queued = ServerTelemetry.StartChild("desmoe.queue", Parent);
            Cache = new SequenceCache(config.NumLayers, config.NumKvHeads, config.MaxPositions, config.HeadDim);
            int budget = Math.Min(request.MaxNewTokens, config.MaxPositions - request.PromptTokens.Count);
            _session = new GenerationSession(tokenizer, request.Sampling, request.Seed, budget, request.Stops, request.IgnoreEndOfText);
        }

        public GenerationRequest Request { get; }
        public int DomainId { get; }
        public CancellationToken Cancellation { get; }
        public SequenceCache Cache { get; }
        public int LastToken { get; private set; }
        public ChannelReader<GenerationStep> Steps => _steps.Reader;

        /// <summary>The request's span, the parent of this sequence's queue, prefill and decode spans.</summary>
        public ActivityContext Parent { get; }
        public Activity? Queued { get; }
        public Activity? Decoding { get; set; }

        /// <returns>whether the sequence goes on</returns>
        public bool Emit(ReadOnlySpan<float> logits)
        {
            var step = _session.Step(logits);
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
