using DesMoe.Formats.Evaluation;
using DesMoe.Onnx.Generation;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Onnx;

/// <summary>Batched greedy decoding through the exported graph: the ONNX twin of <see cref="GreedyDecoder"/>, same layout and stopping rule.</summary>
public static class OnnxGreedyDecoder
{
    /// <returns>for each prompt, the generated ids up to (not including) the end token</returns>
    public static List<List<int>> Generate(OnnxDecoder decoder, SpecialTokens special, IReadOnlyList<IReadOnlyList<int>> prompts,
        int maxNewTokens, int domainId)
    {
        var layout = LeftPaddedBatch.Create(prompts, special.Pad);
        int batch = layout.Batch;
        int budget = Math.Min(maxNewTokens, decoder.Info.Config.MaxPositions - layout.Longest);
        var results = prompts.Select(_ => new List<int>()).ToList();
        if (budget <= 0) return results;

        int total = layout.Longest;
        var input = new OnnxStepInput(batch, layout.Longest, layout.Ids, layout.Mask.Select(m => m ? 1L : 0L).ToArray(), layout.Positions, Enumerable.Repeat((long)domainId, batch).ToArray());
        var nextPosition = (long[])layout.Lengths.Clone();
        var finished = new bool[batch];
        var cache = decoder.EmptyCache(batch);
        try
        {
            for (int step = 0; step < budget; step++)
            {
                var next = new long[batch];
                cache = decoder.Advance(input, cache, output =>
                {
                    for (int row = 0; row < batch; row++) next[row] = TokenSampler.ArgMax(output.LastLogits(row));
                });
                for (int row = 0; row < batch; row++)
                {
                    if (finished[row]) continue;
                    if (next[row] == special.End) finished[row] = true;
                    else results[row].Add((int)next[row]);
                }
                if (finished.All(f => f)) break;

                total++;
                var stepMask = new long[batch * total];
                for (int row = 0; row < batch; row++)
                {
                    Array.Copy(input.AttentionMask, row * (total - 1), stepMask, row * total, total - 1);
                    stepMask[row * total + total - 1] = 1;
                }
                input = new OnnxStepInput(batch, 1, next, stepMask, (long[])nextPosition.Clone(), input.DomainIds);
                for (int row = 0; row < batch; row++) nextPosition[row]++;
            }
        }
        finally
        {
            cache.Dispose();
        }
        return results;
    }
}
