using static TorchSharp.torch;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Experts;

namespace DesMoe.Torch.Model;

/// <summary>
/// Domain-routed expert selection: per MoE layer, which routed experts each domain's tokens may be routed to.
/// Row 0 is the "no domain" path; row d+1 is domain d. Disallowed experts get a -inf router logit before the
/// softmax and top-k, so they are never chosen and take no probability mass.
/// </summary>
public sealed class DomainRouting : IDisposable
{
    private readonly Tensor[] _allowed; // [layer] -> bool [domains + 1, experts]

    /// <param name="allowed">per layer, [domains + 1, experts]; every row must allow at least <paramref name="topK"/> experts</param>
    public DomainRouting(IReadOnlyList<bool[,]> allowed, int topK)
    {
        for (int l = 0; l < allowed.Count; l++)
            for (int row = 0; row < allowed[l].GetLength(0); row++)
            {
                int count = Enumerable.Range(0, allowed[l].GetLength(1)).Count(e => allowed[l][row, e]);
                if (count < topK)
                    throw new ArgumentException($"layer {l}, {(row == 0 ? "the no-domain path" : $"domain {row - 1}")} allows {count} experts, fewer than top-k ({topK})");
            }
        _allowed = allowed.Select(a => tensor(Flatten(a), [a.GetLength(0), a.GetLength(1)]).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>[tokens, experts] allowed mask for tokens whose domain ids are <paramref name="tokenDomains"/> (<see cref="ExpertAssignment.NoDomain"/> = -1).</summary>
    public Tensor MaskFor(int layer, Tensor tokenDomains) => _allowed[layer].index_select(0, tokenDomains.add(Scalars.One, Scalars.One));

    private static bool[] Flatten(bool[,] a)
    {
        var flat = new bool[a.Length];
        int i = 0;
        foreach (var value in a) flat[i++] = value;
        return flat;
    }

    public void Dispose()
    {
        foreach (var t in _allowed) t.Dispose();
    }
}
