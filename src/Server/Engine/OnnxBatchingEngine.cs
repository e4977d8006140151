using System.Runtime.CompilerServices;
using System.Threading.Channels;
using DesMoe.Formats.Config;
using DesMoe.Formats.Tokenization;
using DesMoe.Onnx;
using DesMoe.Onnx.Generation;
using DesMoe.Server.DomainInference;
using DesMoe.Server.Engine.Runner;
using DesMoe.Server.Engine.Scheduling;
using DesMoe.Server.KvCache;

namespace DesMoe.Server.Engine;

/// <summary>
/// Serves an exported ONNX model with continuous batching: requests wait in a queue bounded by the batch and queue
/// limits; one thread runs the <see cref="BatchScheduler"/>, which decides which sequences step, and the
/// <see cref="OnnxModelRunner"/>, which executes each prefill and decode step and owns the KV cache.
/// </summary>
public sealed class OnnxBatchingEngine : IGenerationEngine, IDisposable
{
    private readonly OnnxDecoder _decoder;
    private readonly BatchingOptions _options;
    private readonly Channel<Sequence> _waiting;
    private readonly CancellationTokenSource _stopping = new();
    private readonly OnnxModelRunner _runner;
    private readonly BatchScheduler _scheduler;
    private readonly Task _loop;
    private int _inFlight;

    public OnnxBatchingEngine(OnnxDecoder decoder, BatchingOptions options, string modelVersion, long parameterCount, ILogger logger,
        DomainClassifier? domainClassifier = null)
        : this(decoder, options, modelVersion, parameterCount, logger, domainClassifier, KvMemoryFor(decoder.ExecutionProvider))
    {
    }

    /// <param name="kvMemory">where the KV slots live: null for managed host arrays, else native buffers in that memory (owned when disposable)</param>
    internal OnnxBatchingEngine(OnnxDecoder decoder, BatchingOptions options, string modelVersion, long parameterCount, ILogger logger,
        DomainClassifier? domainClassifier, IKvMemory? kvMemory)
    {
        DomainClassifier = domainClassifier;
        _decoder = decoder;
        _options = options;
        ModelVersion = modelVersion;
        ParameterCount = parameterCount;
        ContextWindow = Math.Min(options.ContextWindow, decoder.Info.Config.MaxPositions);
        _runner = new OnnxModelRunner(decoder, options.MaxBatch, ContextWindow, kvMemory, logger);
        _waiting = Channel.CreateUnbounded<Sequence>(new UnboundedChannelOptions { SingleReader = true });
        _scheduler = new BatchScheduler(_runner, options.MaxBatch, _waiting.Reader, logger);
        _loop = Task.Factory.StartNew(() =>
        {
            Thread.CurrentThread.Name = "desmoe-engine";
            _scheduler.Run(_stopping.Token);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
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
    public DomainClassifier? DomainClassifier { get; }

    /// <summary>Sequences in the running batch (for metrics and tests).</summary>
    public int Active => _scheduler.Running;

    public EngineStats Stats => new(Math.Max(0, InFlight - Active), Active, _scheduler.KvCacheBytes);

    /// <summary>Requests accepted and not yet finished: the running batch plus those waiting for a slot.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    private int Capacity => _options.MaxBatch + _options.QueueCapacity;

    public async IAsyncEnumerable<GenerationStep> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellation)
    {
        if (Interlocked.Increment(ref _inFlight) > Capacity)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new EngineOverloadedException(_options.MaxBatch, _options.QueueCapacity);
        }
        try
        {
            var sequence = new Sequence(request, _decoder.Info.DomainId(request.Domain ?? ""), ContextWindow, Tokenizer, cancellation);
            if (!_waiting.Writer.TryWrite(sequence)) throw new EngineStoppedException();
            await foreach (var step in sequence.Steps.ReadAllAsync(cancellation))
                yield return step;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public void Dispose()
    {
        _waiting.Writer.TryComplete();
        _stopping.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
        }
        _runner.Dispose();
        _decoder.Dispose();
        _stopping.Dispose();
    }
}
