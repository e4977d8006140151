namespace DesMoe.Onnx.Generation;

/// <summary>
/// Picks the next token from a row of logits: greedy, or temperature sampling with optional top-k and top-p filtering.
/// Top-k and top-p rank only as many tokens as they reach (<see cref="RankedTokens"/>); plain temperature sampling
/// ranks none and draws in token-id order. Sorting a real model's 32k-150k logits for every token of every row cost
/// milliseconds a row, more than the decode step itself.
/// </summary>
public sealed class TokenSampler(SamplingSettings settings, Random random)
{
    public bool IsGreedy => settings.IsGreedy;

    /// <param name="banned">a token never to pick (its probability is taken as 0), or -1 for none</param>
    public int Next(ReadOnlySpan<float> logits, int banned = -1)
    {
        if (settings.IsGreedy) return ArgMax(logits, banned);
        var ranked = RankedTokens.ForThisThread;
        if (!ranked.Reset(logits, settings.Temperature, banned)) return ArgMax(logits, banned);

        bool topP = settings.TopP is > 0 and < 1;
        if (settings.TopK <= 0 && !topP) return ranked.TokenInIdOrder(random.NextDouble() * ranked.TotalWeight);

        // Over the tokens in order of probability: top-k keeps the k most likely, top-p then the fewest whose
        // probability (renormalised over what top-k kept) reaches p, and the draw is over what is kept.
        int keep = settings.TopK > 0 ? Math.Min(settings.TopK, logits.Length) : logits.Length;
        double mass = keep < logits.Length ? ranked.WeightOfTop(keep) : ranked.TotalWeight;
        if (topP) keep = ranked.CountReaching(settings.TopP * mass, keep);
        double kept = keep < logits.Length ? ranked.WeightOfTop(keep) : mass;
        return ranked.TokenAt(random.NextDouble() * kept, keep);
    }

    /// <summary>The highest logit's token, the lowest id among equals; <paramref name="banned"/> (if not -1) is skipped.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits, int banned = -1)
    {
        int best = banned == 0 ? 1 : 0;
        for (int i = best + 1; i < logits.Length; i++)
            if (i != banned && logits[i] > logits[best]) best = i;
        return best;
    }
}
