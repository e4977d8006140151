using static TorchSharp.torch;

namespace DesMoe.Tests.Reference;

/// <summary>What every layer's attention needs for one forward pass. Owns the rotary tables it hands out (layers run in their own dispose scopes).</summary>
public sealed class AttentionContext : IDisposable
{
    private readonly Dictionary<RotaryEmbedding, RotaryTables> _tables = new(ReferenceEqualityComparer.Instance);

    /// <param name="positionIds">[batch, seq] int64 rotary positions of the new tokens</param>
    /// <param name="allowed">[batch, 1, seq, past + seq] bool: true where query i may attend to key j</param>
    /// <param name="pastLength">positions already in the cache</param>
    public AttentionContext(Tensor positionIds, Tensor allowed, long pastLength)
    {
        PositionIds = positionIds;
        Allowed = allowed;
        Blocked = allowed.logical_not();
        PastLength = pastLength;
    }

    public Tensor PositionIds { get; }

    public Tensor Allowed { get; }

    /// <summary>The complement of <see cref="Allowed"/>, for <c>masked_fill</c>.</summary>
    public Tensor Blocked { get; }

    public long PastLength { get; }

    /// <summary>cos/sin for this pass's positions, computed once per rotary embedding and shared by all layers.</summary>
    public RotaryTables RotaryFor(RotaryEmbedding rotary)
    {
        if (!_tables.TryGetValue(rotary, out var tables))
        {
            tables = rotary.Tables(PositionIds);
            tables.Cos.DetachFromDisposeScope();
            tables.Sin.DetachFromDisposeScope();
            _tables[rotary] = tables;
        }
        return tables;
    }

    public void Dispose()
    {
        foreach (var tables in _tables.Values)
        {
            tables.Cos.Dispose();
            tables.Sin.Dispose();
        }
        _tables.Clear();
    }
}
