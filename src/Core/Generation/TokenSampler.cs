namespace DesMoe.Core.Generation;

/// <summary>Picks the next token from a row of logits: greedy, or temperature sampling with optional top-k and top-p filtering.</summary>
public sealed class TokenSampler(SamplingSettings settings, Random random)
{
    public int Next(ReadOnlySpan<float> logits)
    {
        if (settings.IsGreedy) return ArgMax(logits);

        var order = Enumerable.Range(0, logits.Length).ToArray();
        var scaled = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++) scaled[i] = logits[i] / settings.Temperature;
        Array.Sort(order, (a, b) => scaled[b].CompareTo(scaled[a]));

        int keep = settings.TopK > 0 ? Math.Min(settings.TopK, order.Length) : order.Length;
        double max = scaled[order[0]], total = 0;
        var probabilities = new double[keep];
        for (int i = 0; i < keep; i++) total += probabilities[i] = Math.Exp(scaled[order[i]] - max);
        for (int i = 0; i < keep; i++) probabilities[i] /= total;

        if (settings.TopP is > 0 and < 1)
        {
            double cumulative = 0;
            for (int i = 0; i < keep; i++)
            {
                cumulative += probabilities[i];
                if (cumulative >= settings.TopP)
                {
                    keep = i + 1;
                    break;
                }
            }
        }

        double kept = 0;
        for (int i = 0; i < keep; i++) kept += probabilities[i];
        double draw = random.NextDouble() * kept;
        for (int i = 0; i < keep; i++)
        {
            draw -= probabilities[i];
            if (draw < 0) return order[i];
        }
        return order[keep - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}
