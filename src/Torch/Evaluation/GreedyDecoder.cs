using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Evaluation;

namespace DesMoe.Torch.Evaluation;

/// <summary>
/// Batched greedy decoding with the KV cache. Prompts of different lengths are left-padded; the attention mask
/// hides the padding and position ids count only real tokens, so each row decodes exactly as it would alone.
/// </summary>
public static class GreedyDecoder
{
    /// <returns>for each prompt, the generated ids up to (not including) the end token</returns>
    /// <param name="domainId">domain of every prompt when <paramref name="domainRouting"/> is given</param>
    public static List<List<int>> Generate(MoeTransformer model, SpecialTokens special, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens,
        int domainId = ExpertAssignment.NoDomain, DomainRouting? domainRouting = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int batch = prompts.Count, longest = prompts.Max(p => p.Count);
        int budget = Math.Min(maxNewTokens, model.Config.MaxPositions - longest);
        var results = prompts.Select(_ => new List<int>()).ToList();
        if (budget <= 0) return results;

        var layout = LeftPaddedBatch.Create(prompts, special.Pad);
        using var cache = new KvCache(model.Config.NumLayers);
        var attention = tensor(layout.Mask, [batch, longest]);
        var input = tensor(layout.Ids, [batch, longest]);
        var position = tensor(layout.Positions, [batch, longest]);
        var nextPosition = tensor(layout.Lengths).unsqueeze(1);
        var finished = new bool[batch];
        var domains = domainRouting is null ? null : Filled.Int64(batch, domainId);

        for (int step = 0; step < budget; step++)
        {
            using var stepScope = NewDisposeScope();
            var logits = model.Forward(input, attention, position, cache, domainIds: domains, domainRouting: domainRouting).Logits;
            var next = logits.select(1, -1).argmax(-1).data<long>().ToArray();
            for (int row = 0; row < batch; row++)
            {
                if (finished[row]) continue;
                if (next[row] == special.End) finished[row] = true;
                else results[row].Add((int)next[row]);
            }
            if (finished.All(f => f)) break;

            input = tensor(next, [batch, 1]).MoveToOuterDisposeScope();
            attention = cat([attention, ones(batch, 1, dtype: @bool)], 1).MoveToOuterDisposeScope();
            position = nextPosition.clone().MoveToOuterDisposeScope();
            nextPosition = nextPosition.add(Scalars.One, Scalars.One).MoveToOuterDisposeScope();
        }
        return results;
    }
}
