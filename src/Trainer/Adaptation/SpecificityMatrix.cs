using DesMoe.Formats.Experts;
using System.Text;
using System.Text.Json;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// DES-MoE's expert-domain matrix A: per MoE layer, a domains x experts matrix of each domain's token-selection share
/// of each expert (each row sums to 1), kept as a moving average. It starts uniform (blank), sharpens as training
/// routes domains to experts, and is frozen by the trainer in consolidation. <see cref="AssignByThreshold"/> (the
/// paper's relative threshold) or <see cref="Assign"/> (top-p, the domain-routed variant) turns it into the
/// domain -> experts map S_d used for gradient masking.
/// </summary>
public sealed class SpecificityMatrix
{
    public const string FileName = "specificity_matrix.json";

    private readonly double[][,] _share;

    public SpecificityMatrix(IReadOnlyList<string> domains, int numLayers, int numExperts)
    {
        if (domains.Count == 0) throw new ArgumentException("at least one domain is needed", nameof(domains));
        Domains = domains.ToList();
        NumLayers = numLayers;
        NumExperts = numExperts;
        _share = Enumerable.Range(0, numLayers).Select(_ =>
        {
            var m = new double[domains.Count, numExperts];
            for (int d = 0; d < domains.Count; d++)
                for (int e = 0; e < numExperts; e++) m[d, e] = 1.0 / numExperts;
            return m;
        }).ToArray();
    }

    public IReadOnlyList<string> Domains { get; }

    /// <summary>This matrix without <paramref name="domain"/>'s row; null when no domain would be left.</summary>
    public SpecificityMatrix? Without(string domain)
    {
        int removed = Domains.ToList().IndexOf(domain);
        if (removed < 0) throw new ArgumentException($"no domain '{domain}' in the specificity matrix; its domains are [{string.Join(", ", Domains)}]");
        var kept = Domains.Where(d => d != domain).ToList();
        if (kept.Count == 0) return null;
        var result = new SpecificityMatrix(kept, NumLayers, NumExperts);
        for (int l = 0; l < NumLayers; l++)
            for (int d = 0, target = 0; d < Domains.Count; d++)
            {
                if (d == removed) continue;
                for (int e = 0; e < NumExperts; e++) result._share[l][target, e] = _share[l][d, e];
                target++;
            }
        return result;
    }
    public int NumLayers { get; }
    public int NumExperts { get; }

    public double this[int layer, int domain, int expert] => _share[layer][domain, expert];

    /// <summary>Moves the domain's row towards the observed selection share (a distribution over experts) at <paramref name="rate"/>.</summary>
    public void Update(int layer, int domain, ReadOnlySpan<double> selectionShare, double rate)
    {
        if (selectionShare.Length != NumExperts)
            throw new ArgumentException($"expected {NumExperts} expert shares, got {selectionShare.Length}", nameof(selectionShare));
        if (rate is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(rate), $"EMA rate must be in (0, 1], got {rate}");
        var m = _share[layer];
        for (int e = 0; e < NumExperts; e++) m[domain, e] = (1 - rate) * m[domain, e] + rate * selectionShare[e];
    }

    /// <summary>How much more the domain uses the expert than the average domain does (1 = average).</summary>
    public double Specificity(int layer, int domain, int expert)
    {
        double sum = 0;
        for (int d = 0; d < Domains.Count; d++) sum += _share[layer][d, expert];
        return sum == 0 ? 0 : _share[layer][domain, expert] * Domains.Count / sum;
    }

    /// <summary>
    /// The paper's mask: per layer, domain d owns expert e when A[d, e] >= <paramref name="phi"/> * max_e' A[d, e'].
    /// Shares are scale-free under this rule, so selection shares and "share of tokens whose top-k includes e" give the
    /// same mask. An expert above the threshold for two domains belongs to both (docs/desmoe.md: joint ownership in
    /// place of the paper's duplication): both domains' tokens train it, and the router reaches it as before.
    /// </summary>
    public ExpertAssignment AssignByThreshold(double phi)
    {
        if (phi is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(phi), $"threshold phi must be in (0, 1], got {phi}");
        var layers = new List<IReadOnlyList<int[]>>(NumLayers);
        for (int l = 0; l < NumLayers; l++)
        {
            var m = _share[l];
            layers.Add(Enumerable.Range(0, Domains.Count).Select(d =>
            {
                double best = Enumerable.Range(0, NumExperts).Max(e => m[d, e]);
                return Enumerable.Range(0, NumExperts).Where(e => m[d, e] >= phi * best - 1e-12).ToArray();
            }).ToList());
        }
        return new ExpertAssignment(Domains, NumExperts, layers);
    }

    /// <summary>
    /// Per layer and domain: the smallest set of the domain's most-used experts whose share reaches
    /// <paramref name="topP"/>, keeping only experts the domain uses more than <paramref name="minSpecificity"/> times as
    /// much as the average domain (so experts every domain relies on equally stay unassigned and protected). A domain
    /// always keeps at least its most specific expert.
    /// </summary>
    public ExpertAssignment Assign(double topP, double minSpecificity = 1.0) => AssignFrom(null, topP, minSpecificity);

    /// <summary>
    /// Like <see cref="Assign"/>, but only the experts in <paramref name="pool"/>[layer] can belong to a domain, with
    /// each domain's shares renormalised over the pool; and every pool expert belongs to somebody: one no domain
    /// chose goes to the domain that uses it most relative to the others. Domain-routed training relies on that
    /// cover: the no-domain path routes to unassigned experts only, so an adapted expert must never stay unassigned.
    /// </summary>
    public ExpertAssignment AssignWithin(IReadOnlyList<IReadOnlySet<int>> pool, double topP, double minSpecificity = 1.0)
    {
        if (pool.Count != NumLayers) throw new ArgumentException($"{pool.Count} layers of pool experts for a {NumLayers}-layer matrix", nameof(pool));
        int empty = pool.ToList().FindIndex(layer => layer.Count == 0);
        if (empty >= 0) throw new ArgumentException($"layer {empty} has no pool experts", nameof(pool));
        return AssignFrom(pool, topP, minSpecificity);
    }

    /// <param name="pool">per layer, the experts that may be assigned (renormalised shares, every one covered); null = all, uncovered</param>
    private ExpertAssignment AssignFrom(IReadOnlyList<IReadOnlySet<int>>? pool, double topP, double minSpecificity)
    {
        if (topP is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(topP), $"top-p must be in (0, 1], got {topP}");
        var layers = new List<IReadOnlyList<int[]>>(NumLayers);
        for (int l = 0; l < NumLayers; l++)
        {
            var candidates = pool?[l].Order().ToList() ?? Enumerable.Range(0, NumExperts).ToList();
            var perDomain = Enumerable.Range(0, Domains.Count).Select(_ => new SortedSet<int>()).ToList();
            for (int d = 0; d < Domains.Count; d++)
            {
                double poolShare = pool is null ? 1 : candidates.Sum(e => _share[l][d, e]);
                double cumulative = 0;
                foreach (var e in candidates.OrderByDescending(e => _share[l][d, e]).ThenBy(e => e))
                {
                    if (cumulative >= topP) break;
                    cumulative += pool is null ? _share[l][d, e] : poolShare == 0 ? 1.0 / candidates.Count : _share[l][d, e] / poolShare;
                    if (Specificity(l, d, e) > minSpecificity + 1e-9) perDomain[d].Add(e);
                }
                if (perDomain[d].Count == 0) perDomain[d].Add(candidates.OrderByDescending(e => Specificity(l, d, e)).ThenBy(e => e).First());
            }
            if (pool is not null)
                foreach (var e in candidates.Where(e => !perDomain.Any(s => s.Contains(e))))
                    perDomain[Enumerable.Range(0, Domains.Count).OrderByDescending(d => Specificity(l, d, e)).ThenBy(d => d).First()].Add(e);
            layers.Add(perDomain.Select(s => s.ToArray()).ToList());
        }
        return new ExpertAssignment(Domains, NumExperts, layers);
    }

    /// <summary>The matrix as a fixed-width table per layer, shares in percent.</summary>
    public string ToTable()
    {
        var text = new StringBuilder();
        int width = Math.Max(8, Domains.Max(d => d.Length) + 1);
        for (int l = 0; l < NumLayers; l++)
        {
            text.Append($"layer {l}".PadRight(width));
            for (int e = 0; e < NumExperts; e++) text.Append($"{e,5}");
            text.AppendLine();
            for (int d = 0; d < Domains.Count; d++)
            {
                text.Append(Domains[d].PadRight(width));
                for (int e = 0; e < NumExperts; e++) text.Append($"{100 * _share[l][d, e],5:F0}");
                text.AppendLine();
            }
        }
        return text.ToString();
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        domains = Domains,
        num_experts = NumExperts,
        layers = _share.Select(m => Enumerable.Range(0, Domains.Count).Select(d => Enumerable.Range(0, NumExperts).Select(e => m[d, e]).ToArray()).ToArray()).ToArray(),
    }, new JsonSerializerOptions { WriteIndented = false });

    /// <summary>The matrix saved in a model folder, or null when it has none.</summary>
    public static SpecificityMatrix? LoadFrom(string folder)
    {
        var path = Path.Combine(folder, FileName);
        return File.Exists(path) ? FromJson(File.ReadAllText(path)) : null;
    }

    public static SpecificityMatrix FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var domains = root.GetProperty("domains").EnumerateArray().Select(d => d.GetString()!).ToList();
        int experts = root.GetProperty("num_experts").GetInt32();
        var layers = root.GetProperty("layers").EnumerateArray().ToList();
        var matrix = new SpecificityMatrix(domains, layers.Count, experts);
        for (int l = 0; l < layers.Count; l++)
        {
            var rows = layers[l].EnumerateArray().ToList();
            for (int d = 0; d < domains.Count; d++)
            {
                var values = rows[d].EnumerateArray().Select(v => v.GetDouble()).ToArray();
                for (int e = 0; e < experts; e++) matrix._share[l][d, e] = values[e];
            }
        }
        return matrix;
    }
}
