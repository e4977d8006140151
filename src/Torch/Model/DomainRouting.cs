using static TorchSharp.torch;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Experts;

namespace DesMoe.Torch.Model;

/// <summary>
/// Domain-routed expert selection: per MoE layer, which routed experts each domain's tokens may be routed to.
/// Row 0 is the "no domain" path; row d+1 is domain d. Disallowed experts get a -inf router logit before the
/// softmax and top-k, so they are never chosen and take no probability mass. Where domains have expert copies, a slot
/// table then maps each chosen expert to the expert slot the token's row runs (see <see cref="ExpertAssignment.SlotTable"/>).
/// </summary>
public sealed class DomainRouting : IDisposable
{
    private readonly Tensor[] _allowed; // [layer] -> bool [domains + 1, experts]
    private readonly Tensor[]? _slots; // [layer] -> int64 [domains + 1, experts]

    /// <param name="allowed">per layer, [domains + 1, experts]; every row must allow at least <paramref name="topK"/> experts</param>
    /// <param name="slots">per layer, [domains + 1, experts]: the expert slot each row runs for each chosen expert; null runs the expert itself</param>
    public DomainRouting(IReadOnlyList<bool[,]> allowed, int topK, IReadOnlyList<long[,]>? slots = null)
    {
        if (slots is not null && (slots.Count != allowed.Count || slots.Where((s, l) => s.GetLength(0) != allowed[l].GetLength(0) || s.GetLength(1) != allowed[l].GetLength(1)).Any()))
            throw new ArgumentException($"slot table of {slots.Count} layers ({string.Join(", ", slots.Select(s => $"[{s.GetLength(0)}, {s.GetLength(1)}]"))}) does not match the routing table's "
                                        + $"{allowed.Count} ({string.Join(", ", allowed.Select(a => $"[{a.GetLength(0)}, {a.GetLength(1)}]"))})");
        for (int l = 0; l < allowed.Count; l++)
            for (int row = 0; row < allowed[l].GetLength(0); row++)
            {
                int count = Enumerable.Range(0, allowed[l].GetLength(1)).Count(e => allowed[l][row, e]);
                if (count < topK)
                    throw new ArgumentException($"layer {l}, {(row == 0 ? "the no-domain path" : $"domain {row - 1}")} allows {count} experts, fewer than top-k ({topK})");
            }
        _allowed = allowed.Select(a => tensor(Flatten(a), [a.GetLength(0), a.GetLength(1)]).DetachFromDisposeScope()).ToArray();
        _slots = slots?.Select(s => tensor(Flatten(s), [s.GetLength(0), s.GetLength(1)]).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>The routing an assignment's domains are served with: its routing table and, where domains have copies, its slot table.</summary>
    public static DomainRouting For(ExpertAssignment assignment, int topK, NoDomainRouting noDomain = NoDomainRouting.UnassignedExperts) =>
        new(assignment.RoutingTable(topK, noDomain), topK, assignment.SlotTable());

    /// <summary>[tokens, experts] allowed mask for tokens whose domain ids are <paramref name="tokenDomains"/> (<see cref="ExpertAssignment.NoDomain"/> = -1).</summary>
    public Tensor MaskFor(int layer, Tensor tokenDomains) => _allowed[layer].index_select(0, tokenDomains.add(Scalars.One, Scalars.One));

    /// <summary>[tokens, experts] expert slot per chosen expert for tokens of <paramref name="tokenDomains"/>, or null when every row runs the experts themselves.</summary>
    public Tensor? SlotsFor(int layer, Tensor tokenDomains) => _slots?[layer].index_select(0, tokenDomains.add(Scalars.One, Scalars.One));

    private static T[] Flatten<T>(T[,] a)
    {
        var flat = new T[a.Length];
        int i = 0;
        foreach (var value in a) flat[i++] = value;
        return flat;
    }

    public void Dispose()
    {
        foreach (var t in _allowed) t.Dispose();
        foreach (var t in _slots ?? []) t.Dispose();
    }
}
