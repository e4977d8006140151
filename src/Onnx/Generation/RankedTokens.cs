namespace DesMoe.Onnx.Generation;

/// <summary>
/// A row of logits scaled by a temperature, with its most likely tokens ranked on demand. The first
/// <see cref="FirstRanks"/> ranks come from one pass with a bounded heap, which is where a trained model's top-k,
/// nucleus and draw almost always end; a caller that walks past them gets every token ranked by one sort of
/// integer keys (a random or very hot distribution's nucleus can hold most of the vocabulary). So a row costs one
/// pass, and at worst one pass and one sort: never the growing re-selections or the delegate-compared sort of V
/// tokens that made sampling cost more than a decode step at a 32k vocabulary.
/// Weights are exp(scaled - max), unnormalised. Ties rank the lower token id first.
/// </summary>
/// <remarks>Scratch buffers of the vocabulary's size are kept per thread: an engine samples its rows on one thread.</remarks>
internal sealed class RankedTokens
{
    public const int FirstRanks = 64;

    [ThreadStatic] private static RankedTokens? _forThread;

    /// <summary>This thread's instance; valid until the thread's next <see cref="Reset"/>.</summary>
    public static RankedTokens ForThisThread => _forThread ??= new RankedTokens();

    private float[] _scaled = [];
    private int[] _order = [];
    private double[] _weights = [];
    private ulong[] _keys = [];
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
            _keys = new ulong[_vocab];
        }
        float max = float.NegativeInfinity;
        for (int i = 0; i < _vocab; i++)
        {
            // + 0f turns -0 into 0, so the float comparison of the heap and the bit keys of the sort agree on ties.
            float scaled = i == banned ? float.NegativeInfinity : logits[i] / temperature + 0f;
            _scaled[i] = scaled;
            if (scaled > max) max = scaled;
        }
        _max = max;
        _ranked = 0;
        _total = double.NaN;
        return float.IsFinite(max);
    }

    /// <summary>The weight of every token (one pass of exp over the vocabulary, once per row and only when asked).</summary>
    public double TotalWeight
    {
        get
        {
            if (double.IsNaN(_total))
            {
                double total = 0;
                for (int i = 0; i < _vocab; i++) total += Weight(i);
                _total = total;
            }
            return _total;
        }
    }

    /// <summary>The token where <paramref name="draw"/> (uniform over <see cref="TotalWeight"/>) falls, walking the vocabulary in id order: no ranking needed.</summary>
    public int TokenInIdOrder(double draw)
    {
        int last = -1;
        for (int i = 0; i < _vocab; i++)
        {
            double weight = Weight(i);
            if (weight <= 0) continue;
            last = i;
            draw -= weight;
            if (draw < 0) return i;
        }
        return last;
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

    private double Weight(int token) => Math.Exp(_scaled[token] - _max);

    /// <summary>Makes the first <paramref name="count"/> ranks (at least) hold the most likely tokens in order, with their weights.</summary>
    private void Rank(int count)
    {
        if (count <= _ranked) return;
        int n = _ranked == 0 && count <= FirstRanks ? Math.Min(FirstRanks, _vocab) : _vocab;
        if (n < _vocab) SelectBest(n);
        else SortAll();
        for (int i = 0; i < n; i++) _weights[i] = Weight(_order[i]);
        _ranked = n;
    }

    /// <summary>The best <paramref name="n"/> tokens into _order[0..n), best first: a heap with the worst of them at its root, then a sort of the n.</summary>
    private void SelectBest(int n)
    {
        for (int i = 0; i < n; i++) _order[i] = i;
        for (int i = n / 2 - 1; i >= 0; i--) SiftDown(i, n);
        for (int i = n; i < _vocab; i++)
        {
            if (!Better(i, _order[0])) continue;
            _order[0] = i;
            SiftDown(0, n);
        }
        for (int i = 0; i < n; i++) _keys[i] = Key(_order[i]);
        SortByKeys(n);
    }

    /// <summary>Every token into _order, best first.</summary>
    private void SortAll()
    {
        for (int i = 0; i < _vocab; i++) _keys[i] = Key(i);
        SortByKeys(_vocab);
    }

    private void SortByKeys(int n)
    {
        Array.Sort(_keys, 0, n);
        for (int i = 0; i < n; i++) _order[i] = (int)(uint)_keys[i];
    }

    /// <summary>
    /// A key whose ascending order is the rank order: the scaled logit's bits made to sort like the float, inverted
    /// (larger first), above the token id (lower first).
    /// </summary>
    private ulong Key(int token)
    {
        uint bits = BitConverter.SingleToUInt32Bits(_scaled[token]);
        uint ascending = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000;
        return ((ulong)~ascending << 32) | (uint)token;
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
}
