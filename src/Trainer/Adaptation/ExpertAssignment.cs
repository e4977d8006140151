using System.Text.Json;

namespace DesMoe.Trainer.Adaptation;

/// <summary>Which routed experts belong to which domain, per MoE layer: <c>Experts[layer][domain]</c> is a sorted list of expert ids.</summary>
public sealed record ExpertAssignment(IReadOnlyList<string> Domains, int NumExperts, IReadOnlyList<IReadOnlyList<int[]>> Experts)
{
    public const string FileName = "expert_assignment.json";

    public int NumLayers => Experts.Count;

    public bool Allows(int layer, int domain, int expert) => Array.BinarySearch(Experts[layer][domain], expert) >= 0;

    /// <summary>Experts assigned to at least one domain, per layer.</summary>
    public IReadOnlyList<HashSet<int>> AssignedPerLayer() =>
        Experts.Select(layer => layer.SelectMany(e => e).ToHashSet()).ToList();

    /// <summary>
    /// Domain routing table for <see cref="DesMoe.Core.Model.DomainRouting"/>: per layer, row 0 (no domain) allows only
    /// the unassigned experts, which adaptation never changes after warm-up; row d+1 allows domain d's own experts plus
    /// the unassigned ones. A row with fewer than <paramref name="topK"/> experts falls back to all experts.
    /// </summary>
    public IReadOnlyList<bool[,]> RoutingTable(int topK)
    {
        var assigned = AssignedPerLayer();
        return Enumerable.Range(0, NumLayers).Select(l =>
        {
            var table = new bool[Domains.Count + 1, NumExperts];
            for (int row = 0; row <= Domains.Count; row++)
            {
                var allowed = Enumerable.Range(0, NumExperts)
                    .Where(e => !assigned[l].Contains(e) || (row > 0 && Allows(l, row - 1, e))).ToList();
                if (allowed.Count < topK) allowed = Enumerable.Range(0, NumExperts).ToList();
                foreach (var e in allowed) table[row, e] = true;
            }
            return table;
        }).ToList();
    }

    /// <summary>Fraction of (layer, domain, expert) memberships that differ from <paramref name="other"/>: 0 = identical.</summary>
    public double DistanceTo(ExpertAssignment other)
    {
        int differ = 0, total = 0;
        for (int l = 0; l < NumLayers; l++)
            for (int d = 0; d < Domains.Count; d++)
            {
                var a = Experts[l][d].ToHashSet();
                var b = other.Experts[l][d].ToHashSet();
                differ += a.Count + b.Count - 2 * a.Intersect(b).Count();
                total += a.Union(b).Count();
            }
        return total == 0 ? 0 : differ / (double)total;
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        domains = Domains,
        num_experts = NumExperts,
        layers = Experts.Select(layer => Domains.Select((name, d) => new { domain = name, experts = layer[d] }).ToList()).ToList(),
    }, new JsonSerializerOptions { WriteIndented = true });
}
