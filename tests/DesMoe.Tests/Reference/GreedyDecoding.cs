using static TorchSharp.torch;

namespace DesMoe.Tests.Reference;

/// <summary>Greedy decoding with the model's own KV cache: the prompt in one pass, then one token per pass.</summary>
public static class GreedyDecoding
{
    /// <param name="prompt">[batch, seq] int64, left-padded when rows differ in length</param>
    /// <param name="attentionMask">[batch, seq], 0 at padding; null = no padding</param>
    /// <param name="stopIds">a row stops after producing any of these (e.g. generation_config's eos ids)</param>
    /// <param name="padId">what finished rows receive while others continue (default: the first stop id)</param>
    /// <returns>[batch, seq + generated] int64: the prompt followed by the new tokens</returns>
    public static Tensor Generate(CausalLanguageModel model, Tensor prompt, int maxNewTokens, Tensor? attentionMask = null,
        IReadOnlyCollection<int>? stopIds = null, int? padId = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var cache = model.CreateCache();
        long batch = prompt.shape[0];
        var stops = stopIds ?? [];
        long fill = padId ?? stops.FirstOrDefault();
        var finished = new bool[batch];
        var outputs = new List<Tensor> { prompt.to(int64) };

        var logits = model.Forward(prompt, attentionMask, positionIds: null, cache);
        for (int step = 0; step < maxNewTokens; step++)
        {
            var chosen = logits.select(1, logits.shape[1] - 1).argmax(-1).cpu().data<long>().ToArray(); // [batch]
            for (long b = 0; b < batch; b++)
            {
                if (finished[b]) chosen[b] = fill;
                else if (stops.Contains((int)chosen[b])) finished[b] = true;
            }
            var next = tensor(chosen, device: prompt.device).unsqueeze(1); // [batch, 1]
            outputs.Add(next);
            if (finished.All(f => f) || step == maxNewTokens - 1) break;
            logits = model.Forward(next, attentionMask: null, positionIds: null, cache);
        }
        return cat(outputs, dim: 1).MoveToOuterDisposeScope();
    }
}
