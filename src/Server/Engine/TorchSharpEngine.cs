using System.Runtime.CompilerServices;
using DesMoe.Core.Checkpoints;
using DesMoe.Core.Config;
using DesMoe.Core.Generation;
using DesMoe.Core.Model;
using DesMoe.Core.Tokenization;
using static TorchSharp.torch;

namespace DesMoe.Server.Engine;

/// <summary>
/// Serves a model folder with the TorchSharp model on CPU, one KV cache per request. Decoding steps of concurrent
/// requests are interleaved one at a time, so every stream makes progress and none starves.
/// </summary>
public sealed class TorchSharpEngine : IGenerationEngine, IDisposable
{
    private readonly LoadedModel _loaded;
    private readonly SemaphoreSlim _step = new(1, 1);

    public TorchSharpEngine(string modelFolder, string modelVersion)
    {
        _loaded = ModelFolder.Load(modelFolder);
        ModelVersion = modelVersion;
    }

    public MoeConfig Config => _loaded.Config;
    public ITextTokenizer Tokenizer => _loaded.Tokenizer;
    public string ModelPath => _loaded.Folder;
    public string ModelVersion { get; }
    public string ExecutionProvider => "CPU";
    public long ParameterCount => _loaded.Model.ParameterCount();
    /// <summary>The model's own length: the eager engine keeps no preallocated cache.</summary>
    public int ContextWindow => Config.MaxPositions;
    public IReadOnlyList<string> Domains { get; } = [];

    /// <summary>Requests in progress count as active; their caches live in TorchSharp and are not measured.</summary>
    public EngineStats Stats => new(0, Volatile.Read(ref _running), 0);
    private int _running;

    public async IAsyncEnumerable<GenerationStep> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellation)
    {
        int budget = Math.Min(request.MaxNewTokens, ContextWindow - request.PromptTokens.Count);
        var session = new GenerationSession(Tokenizer, request.Sampling, request.Seed, budget, request.Stops, request.IgnoreEndOfText);
        using var cache = new KvCache(Config.NumLayers);
        Interlocked.Increment(ref _running);
        using var running = new Release(() => Interlocked.Decrement(ref _running));
        long[] input = request.PromptTokens.Select(t => (long)t).ToArray();

        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            float[] logits;
            await _step.WaitAsync(cancellation);
            try
            {
                logits = await Task.Run(() => NextLogits(input, cache), cancellation);
            }
            finally
            {
                _step.Release();
            }

            var step = session.Step(logits);
            yield return step;
            if (step.Finish is not null) yield break;
            input = [step.Token];
        }
    }

    private float[] NextLogits(long[] input, KvCache cache)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var ids = tensor(input, [1, input.Length]);
        var logits = _loaded.Model.Forward(ids, cache: cache).Logits;
        return logits[0, -1].data<float>().ToArray();
    }

    private sealed class Release(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    public void Dispose()
    {
        _loaded.Dispose();
        _step.Dispose();
    }
}
