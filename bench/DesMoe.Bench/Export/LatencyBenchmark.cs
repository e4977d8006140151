using System.Diagnostics;
using DesMoe.Onnx.Generation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Onnx;
using static TorchSharp.torch;

namespace DesMoe.Bench.Export;

/// <summary>Median prefill latency and median per-token decode latency of one engine at one batch size.</summary>
public sealed record LatencyRow(string Engine, int Batch, int PromptTokens, double PrefillMs, double DecodeMsPerStep)
{
    public double DecodeTokensPerSecond => Batch * 1000.0 / DecodeMsPerStep;
}

/// <summary>
/// Times the same work on the TorchSharp eager model and on exported ONNX graphs: a prefill of <c>batch</c> random
/// prompts of <c>promptTokens</c> tokens, then <c>decodeSteps</c> single-token steps through the KV cache. Tokens are
/// fixed (not sampled) so every engine does identical work; each figure is the median over the repeats.
/// </summary>
public static class LatencyBenchmark
{
    public static LatencyRow TorchSharp(MoeTransformer model, int batch, int promptTokens, int decodeSteps, int repeats, int seed = 1)
    {
        var (prompt, steps) = Tokens(batch, promptTokens, decodeSteps, model.Config.VocabSize, seed);
        var prefill = new List<double>();
        var decode = new List<double>();
        using var noGrad = no_grad();
        for (int r = 0; r < repeats + 1; r++)
        {
            using var scope = NewDisposeScope();
            using var cache = new KvCache(model.Config.NumLayers);
            var clock = Stopwatch.StartNew();
            model.Forward(tensor(prompt, [batch, promptTokens]), cache: cache).Logits.select(1, -1).argmax(-1).data<long>();
            if (r > 0) prefill.Add(clock.Elapsed.TotalMilliseconds);
            foreach (var step in steps)
            {
                using var stepScope = NewDisposeScope();
                clock.Restart();
                model.Forward(tensor(step, [batch, 1]), cache: cache).Logits.select(1, -1).argmax(-1).data<long>();
                if (r > 0) decode.Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        return new LatencyRow("TorchSharp eager", batch, promptTokens, Median(prefill), Median(decode));
    }

    /// <param name="domainId">the routing path every row takes (<see cref="ExpertAssignment.NoDomain"/> or a domain's id)</param>
    public static LatencyRow Onnx(string engine, OnnxDecoder decoder, int batch, int promptTokens, int decodeSteps, int repeats, int seed = 1,
        long domainId = ExpertAssignment.NoDomain)
    {
        var (prompt, steps) = Tokens(batch, promptTokens, decodeSteps, decoder.Info.Config.VocabSize, seed);
        var prefill = new List<double>();
        var decode = new List<double>();
        var domains = Enumerable.Repeat(domainId, batch).ToArray();
        for (int r = 0; r < repeats + 1; r++)
        {
            var cache = decoder.EmptyCache(batch);
            try
            {
                var clock = Stopwatch.StartNew();
                var positions = Enumerable.Range(0, batch).SelectMany(_ => Enumerable.Range(0, promptTokens).Select(i => (long)i)).ToArray();
                cache = Step(decoder, cache, new OnnxStepInput(batch, promptTokens, prompt, Ones(batch * promptTokens), positions, domains));
                if (r > 0) prefill.Add(clock.Elapsed.TotalMilliseconds);
                long position = promptTokens;
                foreach (var step in steps)
                {
                    clock.Restart();
                    var stepPositions = Enumerable.Repeat(position, batch).ToArray();
                    cache = Step(decoder, cache, new OnnxStepInput(batch, 1, step, Ones(batch * (int)(position + 1)), stepPositions, domains));
                    if (r > 0) decode.Add(clock.Elapsed.TotalMilliseconds);
                    position++;
                }
            }
            finally
            {
                cache.Dispose();
            }
        }
        return new LatencyRow(engine, batch, promptTokens, Median(prefill), Median(decode));
    }

    /// <summary>One step including reading the next-token argmax, as a generator would; returns the new cache.</summary>
    private static OnnxKvCache Step(OnnxDecoder decoder, OnnxKvCache cache, OnnxStepInput input) =>
        decoder.Advance(input, cache, output =>
        {
            for (int row = 0; row < input.Batch; row++) TokenSampler.ArgMax(output.LastLogits(row));
        });

    private static (long[] Prompt, List<long[]> Steps) Tokens(int batch, int promptTokens, int decodeSteps, int vocab, int seed)
    {
        var random = new Random(seed);
        int limit = Math.Min(vocab, 256);
        var prompt = Enumerable.Range(0, batch * promptTokens).Select(_ => (long)random.Next(limit)).ToArray();
        var steps = Enumerable.Range(0, decodeSteps).Select(_ => Enumerable.Range(0, batch).Select(_ => (long)random.Next(limit)).ToArray()).ToList();
        return (prompt, steps);
    }

    private static long[] Ones(int count) => Enumerable.Repeat(1L, count).ToArray();

    internal static double Median(List<double> values)
    {
        values.Sort();
        return values.Count == 0 ? double.NaN : values[values.Count / 2];
    }
}
