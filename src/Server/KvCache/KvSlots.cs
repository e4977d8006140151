using Microsoft.ML.OnnxRuntime;
using DesMoe.Onnx;

namespace DesMoe.Server.KvCache;

/// <summary>
/// The running batch's KV cache, resident across decode steps. Per layer there are two key buffers of
/// [max_rows, heads, context, key_dim] floats and two value buffers of [.., value_dim], allocated once (the two widths
/// differ under latent attention, see <see cref="global::DesMoe.Formats.Config.MoeConfig.CacheHeads"/>). Batch row r is slot r: its
/// cache of length L sits right-aligned in the [rows, heads, width, dim] prefix of the current buffer (positions
/// width - L .. width - 1), the padding before it masked. The graph concatenates past and new keys into present, so it
/// cannot write in place: each step reads the current buffers as past and writes present [rows, heads, width + 1, dim]
/// into the other ones, which then become current (<see cref="Advance"/>). A step therefore copies and allocates
/// nothing around the session run; rows are copied only when the batch changes: a leaving row is replaced by the last
/// row, and a joining prompt longer than the width, or padding beyond <see cref="CompactionSlack"/>, re-lays the batch
/// out once.
/// </summary>
internal sealed class KvSlots : IDisposable
{
    /// <summary>
    /// Padding positions a batch may carry beyond its longest row before it is re-laid out. Every step's concat and
    /// attention run over the full width, a re-layout copies the batch once: 16 keeps the waste under 16 positions
    /// and re-lays out at most once per 16 steps.
    /// </summary>
    public const int CompactionSlack = 16;

    /// <summary>The keys or the values of every layer: per layer the current and the other buffer, and the per-head width.</summary>
    private sealed record Plane(IKvBuffer[][] Buffers, int Dim, bool IsKey);

    private readonly Plane[] _planes;
    private readonly int[] _lengths;
    private readonly int _heads, _context;
    private int _current;

    /// <param name="allocate">makes one buffer of the given number of floats (host memory for the CPU provider)</param>
    public KvSlots(int layers, int maxRows, int heads, int context, int keyDim, int valueDim, Func<long, IKvBuffer> allocate)
    {
        if (layers <= 0 || maxRows <= 0 || heads <= 0 || context <= 0 || keyDim <= 0 || valueDim <= 0)
            throw new ArgumentException($"KV slots need positive sizes, got layers {layers}, rows {maxRows}, heads {heads}, context {context}, key dim {keyDim}, value dim {valueDim}");
        (_heads, _context) = (heads, context);
        _lengths = new int[maxRows];
        var made = new List<IKvBuffer>();
        try
        {
            Plane Allocate(int dim, bool isKey)
            {
                long capacity = (long)maxRows * heads * context * dim;
                IKvBuffer Track(IKvBuffer b)
                {
                    made.Add(b);
                    return b;
                }
                return new Plane(Enumerable.Range(0, layers).Select(_ => new[] { Track(allocate(capacity)), Track(allocate(capacity)) }).ToArray(), dim, isKey);
            }
            _planes = [Allocate(keyDim, isKey: true), Allocate(valueDim, isKey: false)];
        }
        catch
        {
            foreach (var b in made) b.Dispose();
            throw;
        }
    }

    public int Layers => _planes[0].Buffers.Length;
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
    /// prefill's present (per layer [batch, heads, presentWidth, dim], left-padded).
    /// </summary>
    /// <returns>the new row</returns>
    public int Add(OnnxKvCache present, int presentRow, int presentWidth, int length)
    {
        if (Rows == MaxRows) throw new InvalidOperationException($"all {MaxRows} KV slots are taken");
        if (length > Width) throw new ArgumentOutOfRangeException(nameof(length), length, $"longer than the batch width {Width}; Reserve it first");
        if (length > presentWidth) throw new ArgumentOutOfRangeException(nameof(length), length, $"longer than the present's {presentWidth} positions");
        int row = Rows++;
        foreach (var plane in _planes)
        {
            int count = length * plane.Dim;
            for (int l = 0; l < Layers; l++)
            {
                var source = plane.IsKey ? present.Keys(l) : present.Values(l);
                for (int h = 0; h < _heads; h++)
                {
                    int from = ((presentRow * _heads + h) * presentWidth + presentWidth - length) * plane.Dim;
                    long target = ((long)(row * _heads + h) * Width + Width - length) * plane.Dim;
                    plane.Buffers[l][_current].Write(target, source.Slice(from, count));
                }
            }
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
            foreach (var plane in _planes)
            {
                long block = (long)_heads * Width * plane.Dim;
                for (int l = 0; l < Layers; l++)
                    plane.Buffers[l][_current].CopyTo(last * block, plane.Buffers[l][_current], row * block, block);
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
        int next = 1 - _current;
        OrtValue[] Views(Plane plane, int buffer, int width) =>
            plane.Buffers.Select(b => b[buffer].View([Rows, _heads, width, plane.Dim])).ToArray();
        var (keys, values) = (_planes[0], _planes[1]);
        return new KvStepTensors(Views(keys, _current, Width), Views(values, _current, Width), Views(keys, next, Width + 1), Views(values, next, Width + 1));
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
        foreach (var plane in _planes)
            for (int l = 0; l < Layers; l++)
                for (int row = 0; row < Rows; row++)
                {
                    int length = _lengths[row];
                    for (int h = 0; h < _heads; h++)
                    {
                        long source = ((long)(row * _heads + h) * Width + Width - length) * plane.Dim;
                        long target = ((long)(row * _heads + h) * width + width - length) * plane.Dim;
                        plane.Buffers[l][_current].CopyTo(source, plane.Buffers[l][next], target, (long)length * plane.Dim);
                    }
                }
        _current = next;
        Width = width;
    }

    public void Dispose()
    {
        foreach (var plane in _planes)
            foreach (var pair in plane.Buffers)
                foreach (var b in pair) b.Dispose();
    }
}
