using DesMoe.Onnx.Generation;
using DesMoe.Onnx;
using DesMoe.Formats.Tokenization;
using DesMoe.Server.Engine;
using DesMoe.Server.KvCache;
using Microsoft.Extensions.Logging.Abstractions;

namespace DesMoe.Tests.Support;

/// <summary>The continuous-batching engine over an exported folder on the CPU provider, driven directly (no gRPC).</summary>
internal static class CpuEngines
{
    /// <param name="kvMemory">where the KV slots live: null for managed host arrays (as the CPU provider serves)</param>
    public static OnnxBatchingEngine Create(string folder, int maxBatch, int queueCapacity, IKvMemory? kvMemory = null) =>
        new(OnnxDecoder.Load(folder, new OnnxSessionSettings { Provider = ExecutionProviderPreference.Cpu }),
            new BatchingOptions { MaxBatch = maxBatch, QueueCapacity = queueCapacity }, "test", 0, NullLogger.Instance, null, kvMemory);

    /// <summary>The tokens the engine decodes for one prompt.</summary>
    public static async Task<List<int>> DecodeAsync(OnnxBatchingEngine engine, string prompt, string domain, int maxNewTokens,
        SamplingSettings sampling, int seed, bool ignoreEndOfText)
    {
        var request = new GenerationRequest(PromptFormat.EncodePrompt(engine.Tokenizer, prompt), domain, maxNewTokens, sampling, seed, [], ignoreEndOfText);
        var tokens = new List<int>();
        await foreach (var step in engine.GenerateAsync(request, CancellationToken.None)) tokens.Add(step.Token);
        return tokens;
    }
}
