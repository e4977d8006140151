using DesMoe.Core.Onnx;

namespace DesMoe.Server.Engine.Decoding;

/// <summary>
/// The running batch's KV cache, resident across decode steps. Per layer there are two key and two value buffers of
/// [max_rows, kv_heads, context, head_dim] floats, allocated once. Batch row r is slot r: its cache of length L sits
/// right-aligned in the [rows, kv_heads, width, head_dim] prefix of the current buffer (positions width - L .. width - 1),
/// the padding before it masked. The graph concatenates past and new keys into present, so it cannot write in place:
/// each step reads the current buffers as past and writes present [rows, kv_heads, width + 1, head_dim] into the other
/// ones, which then become current (<see cref="Advance"/>). A step therefore copies and allocates nothing around the
/// session run; rows are copied only when the batch changes: a leaving row is replaced by the last row, and a joining
/// prompt longer than the width, or padding beyond <see cref="CompactionSlack"/>, re-lays the batch out once.
/// </summary>
internal sealed class KvSlots : IDisposable
{
    /// <summary>
    /// Padding positions a batch may carry beyond its longest row before it is re-laid out. Every step's concat and
    /// attention run over the full width, a re-layout copies the batch once: 16 keeps the waste under 16 positions
    /// and re-lays out at most once per 16 steps.
    /// </summary>
    public const int CompactionSlack = 16;

    private readonly IKvBuffer[][] _keys;
    private readonly IKvBuffer[][] _values;
    private readonly int[] _lengths;
    private readonly int _kvHeads, _context, _headDim;
    private int _current;

    /// <param name="allocate">makes one buffer of the given number of floats (host memory for the CPU provider)</param>
    public KvSlots(int layers, int maxRows, int kvHeads, int context, int headDim, Func<long, IKvBuffer> allocate)
    {
        if (layers <= 0 || maxRows <= 0 || kvHeads <= 0 || context <= 0 || headDim <= 0)
            throw new ArgumentException($"KV slots need positive sizes, got layers {layers}, rows {maxRows}, kv heads {kvHeads}, context {context}, head dim {headDim}");
        (_kvHeads, _context, _headDim) = (kvHeads, context, headDim);
        _lengths = new int[maxRows];
        long capacity = (long)maxRows * kvHeads * context * headDim;
        var made = new List<IKvBuffer>();
        try
        {
            IKvBuffer[] Pair() => [Track(allocate(capacity)), Track(allocate(capacity))];
            IKvBuffer Track(IKvBuffer b)
            {
                made.Add(b);
                return b;
            }
            _keys = Enumerable.Range(0, layers).Select(_ => Pair()).ToArray();
            _values = Enumerable.Range(0, layers).Select(_ => Pair()).ToArray();
        }
        catch
        {
            foreach (var b in made) b.Dispose();
            throw;
        }
    }

    public int Layers => _keys.Length;
    public int MaxRows => _lengths.Length;

    /// <summary>Rows in the batch; rows 0 .. Rows - 1 hold sequences.</summary>
    public int Rows { get; private set; }

    /// <summary>Positions per row of the past tensors, at least every row's length.</summary>
    public int Width { get; private set; }

    /// <summary>Cached positions of <paramref name="row"/>.</summary>
    public int Length(int row) => row < Rows ? _lengths[row] : throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {Rows} rows");

    /// <summary>Cached positions over all rows.</summary>
    public long TotalLength
    {
        get
        {
            long total = 0;
            for (int row = 0; row < Rows; row++) total += _lengths[row];
            return total;
        }
    }

    /// <summary>Makes the width at least <paramref name="length"/> so rows that long can join (re-lays the batch out if it grows).</summary>
    public void Reserve(int length)
    {
        if (length > _context - 1) throw new ArgumentOutOfRangeException(nameof(length), length, $"a cache must leave room for one more position in the context of {_context}");
        if (length <= Width) return;
        if (Rows == 0) Width = length;
        else Relayout(length);
    }

    /// <summary>
    /// Adds a row holding the last <paramref name="length"/> positions of row <paramref name="presentRow"/> of a
    /// prefill's present (per layer [batch, kv_heads, presentWidth, head_dim], left-padded).
    /// </summary>
    /// <returns>the new row</returns>
    public int Add(OnnxKvCache present, int presentRow, int presentWidth, int length)
    {
        if (Rows == MaxRows) throw new InvalidOperationException($"all {MaxRows} KV slots are taken");
        if (length > Width) throw new ArgumentOutOfRangeException(nameof(length), length, $"longer than the batch width {Width}; Reserve it first");
        if (length > presentWidth) throw new ArgumentOutOfRangeException(nameof(length), length, $"longer than the present's {presentWidth} positions");
        int row = Rows++;
        int count = length * _headDim;
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < _kvHeads; h++)
            {
                int source = ((presentRow * _kvHeads + h) * presentWidth + presentWidth - length) * _headDim;
                long target = ((long)(row * _kvHeads + h) * Width + Width - length) * _headDim;
                _keys[l][_current].Write(target, present.Keys(l).Slice(source, count));
                _values[l][_current].Write(target, present.Values(l).Slice(source, count));
            }
        _lengths[row] = length;
        return row;
    }

    /// <summary>Removes <paramref name="row"/> by moving the last row into it: the caller moves its own row state the same way.</summary>
    public void RemoveAt(int row)
    {
        if (row < 0 || row >= Rows) throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {Rows} rows");
        int last = Rows - 1;
        if (row != last)
        {
            long block = (long)_kvHeads * Width * _headDim;
            for (int l = 0; l < Layers; l++)
            {
                _keys[l][_current].CopyTo(last * block, _keys[l][_current], row * block, block);
                _values[l][_current].CopyTo(last * block, _values[l][_current], row * block, block);
            }
            _lengths[row] = _lengths[last];
        }
        Rows = last;
        if (Rows == 0) Width = 0;
    }

    /// <summary>Drops every row (after a failed step, whose sequences have all been failed).</summary>
    public void Clear()
    {
        Rows = 0;
        Width = 0;
    }

    /// <summary>Before a step: re-lays the batch out to its longest row when the present would not fit the context or the padding passed the slack.</summary>
    public void PrepareStep()
    {
        if (Rows == 0) throw new InvalidOperationException("no rows to decode");
        int longest = 0;
        for (int row = 0; row < Rows; row++) longest = Math.Max(longest, _lengths[row]);
        if (longest + 1 > _context) throw new InvalidOperationException($"KV cache overflow: {longest + 1} positions exceed the context of {_context}");
        if (Width + 1 > _context || Width - longest > CompactionSlack) Relayout(longest);
    }

    /// <summary>Views for one step: past over the current buffers, present over the others.</summary>
    public KvStepTensors Bind()
    {
        long[] past = [Rows, _kvHeads, Width, _headDim], present = [Rows, _kvHeads, Width + 1, _headDim];
        int next = 1 - _current;
        return new KvStepTensors(
            _keys.Select(k => k[_current].View(past)).ToArray(), _values.Select(v => v[_current].View(past)).ToArray(),
            _keys.Select(k => k[next].View(present)).ToArray(), _values.Select(v => v[next].View(present)).ToArray());
    }

    /// <summary>After a step: the present just written becomes the past, one position wider, every row one longer.</summary>
    public void Advance()
    {
        _current = 1 - _current;
        Width++;
        for (int row = 0; row < Rows; row++) _lengths[row]++;
    }

    /// <summary>Copies every row right-aligned into the other buffers at <paramref name="width"/>, which become current.</summary>
    private void Relayout(int width)
    {
        int next = 1 - _current;
        for (int l = 0; l < Layers; l++)
            for (int row = 0; row < Rows; row++)
            {
                int length = _lengths[row];
                for (int h = 0; h < _kvHeads; h++)
                {
                    long source = ((long)(row * _kvHeads + h) * Width + Width - length) * _headDim;
                    long target = ((long)(row * _kvHeads + h) * width + width - length) * _headDim;
                    _keys[l][_current].CopyTo(source, _keys[l][next], target, (long)length * _headDim);
                    _values[l][_current].CopyTo(source, _values[l][next], target, (long)length * _headDim);
                }
            }
        _current = next;
        Width = width;
    }

    public void Dispose()
    {
        foreach (var pair in _keys.Concat(_values))
            foreach (var b in pair) b.Dispose();
    }
}
