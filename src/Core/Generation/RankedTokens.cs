namespace DesMoe.Core.Generation;

/// <summary>
/// A row of logits scaled by a temperature, with its most likely tokens ranked on demand: asking for the first n
/// ranks selects the n best with a bounded heap (one pass over the vocabulary, O(V log n)) and sorts just those,
/// widening fourfold (at least to 64) when a caller walks past them. A trained model's top-k, nucleus and draw
/// almost always end within the first few dozen tokens, so a draw costs one or two passes instead of a sort of V.
/// Weights are exp(scaled - max), unnormalised. Ties rank the lower token id first.
/// </summary>
internal sealed class RankedTokens : IComparer<int>
{
    private const int FirstRanks = 64;

    private float[] _scaled = [];
    private int[] _order = [];
    private double[] _weights = [];
    private int _vocab, _ranked;
    private double _max, _total;

    /// <returns>false when no token has a finite scaled logit (nothing to draw from)</returns>
    public bool Reset(ReadOnlySpan<float> logits, float temperature, int banned)
    {
        _vocab = logits.Length;
        if (_scaled.Length < _vocab)
        {
            _scaled = new float[_vocab];
            _order = new int[_vocab];
            _weights = new double[_vocab];
        }
        float max = float.NegativeInfinity;
        for (int i = 0; i < _vocab; i++)
        {
            float scaled = i == banned ? float.NegativeInfinity : logits[i] / temperature;
            _scaled[i] = scaled;
            if (scaled > max) max = scaled;
        }
        _max = max;
        _ranked = 0;
        _total = double.NaN;
        return float.IsFinite(max);
    }

    /// <summary>The weight of every token: one pass of exp over the vocabulary, made once per row and only when asked.</summary>
    public double TotalWeight
    {
        get
        {
            if (double.IsNaN(_total))
            {
                double total = 0;
                for (int i = 0; i < _vocab; i++) total += Math.Exp(_scaled[i] - _max);
                _total = total;
            }
            return _total;
        }
    }

    /// <summary>The weight of the <paramref name="count"/> most likely tokens.</summary>
    public double WeightOfTop(int count)
    {
        Rank(count);
        double sum = 0;
        for (int i = 0; i < count; i++) sum += _weights[i];
        return sum;
    }

    /// <summary>The fewest most likely tokens, at most <paramref name="limit"/>, whose weight reaches <paramref name="target"/>.</summary>
    public int CountReaching(double target, int limit)
    {
        double cumulative = 0;
        for (int i = 0; i < limit; i++)
        {
            Rank(i + 1);
            cumulative += _weights[i];
            if (cumulative >= target) return i + 1;
        }
        return limit;
    }

    /// <summary>
    /// The token where <paramref name="draw"/> (uniform over the weight of the first <paramref name="limit"/>)
    /// falls, walking them from the most likely; rounding that carries the draw past the end picks the last
    /// token of that range with a weight above 0.
    /// </summary>
    public int TokenAt(double draw, int limit)
    {
        int last = 0;
        for (int i = 0; i < limit; i++)
        {
            Rank(i + 1);
            if (_weights[i] <= 0) break;
            last = i;
            draw -= _weights[i];
            if (draw < 0) return _order[i];
        }
        return _order[last];
    }

    /// <summary>Makes the first <paramref name="count"/> ranks (at least) hold the most likely tokens in order, with their weights.</summary>
    private void Rank(int count)
    {
        if (count <= _ranked) return;
        int n = Math.Min(_vocab, Math.Max(count, Math.Max(FirstRanks, 4 * _ranked)));
        if (n == _vocab)
        {
            for (int i = 0; i < _vocab; i++) _order[i] = i;
        }
        else
        {
            // _order[0..n) as a heap with the worst of the best n at its root.
            for (int i = 0; i < n; i++) _order[i] = i;
            for (int i = n / 2 - 1; i >= 0; i--) SiftDown(i, n);
            for (int i = n; i < _vocab; i++)
            {
                if (!Better(i, _order[0])) continue;
                _order[0] = i;
                SiftDown(0, n);
            }
        }
        Array.Sort(_order, 0, n, this);
        for (int i = 0; i < n; i++) _weights[i] = Math.Exp(_scaled[_order[i]] - _max);
        _ranked = n;
    }

    private void SiftDown(int at, int count)
    {
        while (true)
        {
            int worst = at, left = 2 * at + 1, right = left + 1;
            if (left < count && Better(_order[worst], _order[left])) worst = left;
            if (right < count && Better(_order[worst], _order[right])) worst = right;
            if (worst == at) return;
            (_order[at], _order[worst]) = (_order[worst], _order[at]);
            at = worst;
        }
    }

    /// <summary>Whether token <paramref name="a"/> ranks before token <paramref name="b"/>.</summary>
    private bool Better(int a, int b) => _scaled[a] > _scaled[b] || (_scaled[a] == _scaled[b] && a < b);

    /// <summary>Orders ranks most likely first.</summary>
    int IComparer<int>.Compare(int a, int b) => a == b ? 0 : Better(a, b) ? -1 : 1;
}
