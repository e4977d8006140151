using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DesMoe.Formats.Config;

namespace DesMoe.Formats.Experts;

/// <summary>What the no-domain path (<see cref="NoDomain"/>) may route to.</summary>
public enum NoDomainRouting
{
    /// <summary>The plain router over every expert, as before adaptation.</summary>
    AllExperts,

    /// <summary>Only experts no domain owns: general text never touches domain-adapted experts.</summary>
    UnassignedExperts,
}

/// <summary>Which routed experts belong to which domain, per MoE layer: <c>Experts[layer][domain]</c> is a sorted list of expert ids.</summary>
public sealed partial record ExpertAssignment(IReadOnlyList<string> Domains, int NumExperts, IReadOnlyList<IReadOnlyList<int[]>> Experts)
{
    public const string FileName = "expert_assignment.json";

    /// <summary>The domain id of a request with no domain: the plain router's path (row 0 of a routing table).</summary>
    public const int NoDomain = -1;

    public int NumLayers => Experts.Count;

    public bool Allows(int layer, int domain, int expert) => Array.BinarySearch(Experts[layer][domain], expert) >= 0;

    /// <summary>Experts assigned to at least one domain, per layer; a copied domain's sources stay everyone's, so they are not among them.</summary>
    public IReadOnlyList<HashSet<int>> AssignedPerLayer() =>
        Experts.Select(layer => layer.Where((_, d) => !CopySlots.ContainsKey(Domains[d])).SelectMany(e => e).ToHashSet()).ToList();

    /// <summary>
    /// Domains added to a served model one at a time (<c>AddDomain</c>) before domains were expert copies
    /// (<see cref="CopySlots"/>); versions made then still hold them: each owns its experts exclusively. Its tokens
    /// route to its own experts only (so its learning concentrates in what it may train), and no other row may route to
    /// them, so training them cannot change how any other domain or the no-domain path computes.
    /// </summary>
    public IReadOnlySet<string> ExclusiveDomains { get; init; } = new HashSet<string>();

    /// <summary>
    /// Domains adapted jointly under domain routing (DES-MoE's trainer): they may share experts with each other, and
    /// their experts are adapted, so the no-domain path never routes to them, whatever <see cref="NoDomainRouting"/> asks.
    /// </summary>
    public IReadOnlySet<string> RoutedDomains { get; init; } = new HashSet<string>();

    /// <summary>An assignment without domains, the starting point for adding domains to a base model.</summary>
    public static ExpertAssignment Empty(int numLayers, int numExperts) =>
        new([], numExperts, Enumerable.Range(0, numLayers).Select(_ => (IReadOnlyList<int[]>)[]).ToList());

    /// <summary>This assignment plus <paramref name="domain"/> owning <paramref name="experts"/>[layer] exclusively.</summary>
    public ExpertAssignment WithExclusiveDomain(string domain, IReadOnlyList<int[]> experts)
    {
        if (Domains.Contains(domain)) throw new ArgumentException($"domain '{domain}' is already assigned");
        if (experts.Count != NumLayers) throw new ArgumentException($"{experts.Count} layers of experts for a {NumLayers}-layer model");
        var assigned = AssignedPerLayer();
        for (int l = 0; l < NumLayers; l++)
        {
            var taken = experts[l].Where(assigned[l].Contains).ToList();
            if (taken.Count > 0) throw new ArgumentException($"layer {l}: experts [{string.Join(", ", taken)}] already belong to another domain");
        }
        return new ExpertAssignment([.. Domains, domain], NumExperts,
            Experts.Select((layer, l) => (IReadOnlyList<int[]>)[.. layer, experts[l].Order().ToArray()]).ToList())
        {
            ExclusiveDomains = new HashSet<string>(ExclusiveDomains) { domain },
            RoutedDomains = RoutedDomains,
            CopySlots = CopySlots,
            ConfinedDomains = ConfinedDomains,
        };
    }

    /// <summary>Experts owned by exclusive domains, per layer.</summary>
    public IReadOnlyList<HashSet<int>> ExclusivePerLayer() => ExpertsOf(ExclusiveDomains);

    /// <summary>Per layer, the experts owned by any of <paramref name="domains"/>.</summary>
    private IReadOnlyList<HashSet<int>> ExpertsOf(IReadOnlySet<string> domains) =>
        Experts.Select(layer => Domains.Select((name, d) => (name, d)).Where(x => domains.Contains(x.name))
            .SelectMany(x => layer[x.d]).ToHashSet()).ToList();

    /// <summary>
    /// Domain routing table for <see cref="DomainRouting"/>: per layer, row 0 is the no-domain path (see
    /// <paramref name="noDomain"/>; it never includes the experts of <see cref="RoutedDomains"/>); row d+1 allows
    /// domain d's own experts plus the unassigned ones, which adaptation never changes after warm-up; an exclusive
    /// domain's row allows its own experts only, and no other row allows them. A row with fewer than
    /// <paramref name="topK"/> experts falls back to all non-exclusive experts. A copied domain's row is row 0 (its
    /// requests score the experts as the no-domain path does), or for a confined one its copied experts alone when
    /// there are at least <paramref name="topK"/>; <see cref="SlotTable"/> sends them to its copies.
    /// </summary>
    public IReadOnlyList<bool[,]> RoutingTable(int topK, NoDomainRouting noDomain = NoDomainRouting.UnassignedExperts)
    {
        var assigned = AssignedPerLayer();
        var exclusive = ExclusivePerLayer();
        var routed = ExpertsOf(RoutedDomains);
        return Enumerable.Range(0, NumLayers).Select(l =>
        {
            var table = new bool[Domains.Count + 1, NumExperts];
            var shared = Enumerable.Range(0, NumExperts).Where(e => !exclusive[l].Contains(e)).ToList();
            for (int row = 0; row <= Domains.Count; row++)
            {
                List<int> allowed;
                if (row > 0 && ExclusiveDomains.Contains(Domains[row - 1]))
                    allowed = Experts[l][row - 1].ToList();
                else
                    allowed = Enumerable.Range(0, NumExperts).Where(e => !exclusive[l].Contains(e) && !(row == 0 && routed[l].Contains(e))
                                                                     && ((row == 0 && noDomain == NoDomainRouting.AllExperts)
                                                                         || !assigned[l].Contains(e) || (row > 0 && Allows(l, row - 1, e)))).ToList();
                if (allowed.Count < topK) allowed = shared;
                foreach (var e in allowed) table[row, e] = true;
            }
            for (int row = 1; row <= Domains.Count; row++)
                if (CopySlots.ContainsKey(Domains[row - 1]))
                {
                    bool confined = ConfinedDomains.Contains(Domains[row - 1]) && Experts[l][row - 1].Length >= topK;
                    for (int e = 0; e < NumExperts; e++) table[row, e] = confined ? Allows(l, row - 1, e) : table[0, e];
                }
            return table;
        }).ToList();
    }

    /// <summary>The routing table of a model without domains: one all-experts row per layer.</summary>
    public static IReadOnlyList<bool[,]> PlainRoutingTable(int numLayers, int numExperts) =>
        Enumerable.Range(0, numLayers).Select(_ =>
        {
            var table = new bool[1, numExperts];
            for (int e = 0; e < numExperts; e++) table[0, e] = true;
            return table;
        }).ToList();

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
        exclusive_domains = Domains.Where(ExclusiveDomains.Contains).ToList(),
        routed_domains = Domains.Where(RoutedDomains.Contains).ToList(),
        confined_domains = Domains.Where(ConfinedDomains.Contains).ToList(),
        layers = Experts.Select((layer, l) => Domains.Select((name, d) => new LayerEntry(name, layer[d], CopySlots.TryGetValue(name, out var slots) ? slots[l] : null)).ToList()).ToList(),
    }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull });

    /// <summary>One domain's experts in one layer as the file holds them; <c>copies</c> only for a copied domain, aligned with <c>experts</c>.</summary>
    private sealed record LayerEntry(
        [property: JsonPropertyName("domain")] string Domain,
        [property: JsonPropertyName("experts")] int[] Experts,
        [property: JsonPropertyName("copies")] int[]? Copies);

    /// <summary>The assignment saved in a model (or export) folder, checked against <paramref name="config"/>; null when the folder has none.</summary>
    public static ExpertAssignment? LoadFrom(string folder, MoeConfig config)
    {
        var path = Path.Combine(folder, FileName);
        return File.Exists(path) ? Load(path, config.NumMoeLayers, config.NumRoutedExperts, config.DomainExpertCopies) : null;
    }

    /// <summary>Reads <paramref name="path"/> and checks it against the model it belongs to; every problem is named.</summary>
    /// <param name="copySlots">the model's expert slots after its routed experts (<see cref="Config.MoeConfig.DomainExpertCopies"/>)</param>
    public static ExpertAssignment Load(string path, int numLayers, int numExperts, int copySlots = 0)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"expert assignment not found: {path}", path);
        try
        {
            return Parse(File.ReadAllText(path), numLayers, numExperts, copySlots);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static ExpertAssignment Parse(string json, int numLayers, int numExperts, int copySlots = 0)
    {
        JsonNode root;
        try
        {
            root = JsonNode.Parse(json) ?? throw new InvalidDataException("empty expert assignment");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"malformed JSON: {e.Message}", e);
        }
        var domains = (root["domains"] as JsonArray ?? throw new InvalidDataException("missing \"domains\" array"))
            .Select(d => d?.GetValue<string>() ?? throw new InvalidDataException("null domain name")).ToList();
        var duplicate = domains.GroupBy(d => d).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidDataException($"domain '{duplicate.Key}' is listed twice");
        int declaredExperts = root["num_experts"]?.GetValue<int>() ?? throw new InvalidDataException("missing \"num_experts\"");
        if (declaredExperts != numExperts)
            throw new InvalidDataException($"num_experts is {declaredExperts} but the model has {numExperts} routed experts");
        var layers = root["layers"] as JsonArray ?? throw new InvalidDataException("missing \"layers\" array");
        if (layers.Count != numLayers)
            throw new InvalidDataException($"has {layers.Count} layers but the model has {numLayers}");

        var experts = new List<IReadOnlyList<int[]>>();
        var copies = new Dictionary<string, int[][]>();
        for (int l = 0; l < layers.Count; l++)
        {
            var perDomain = new int[domains.Count][];
            foreach (var entry in layers[l] as JsonArray ?? throw new InvalidDataException($"layer {l} is not an array"))
            {
                var name = entry?["domain"]?.GetValue<string>() ?? throw new InvalidDataException($"layer {l}: entry without \"domain\"");
                int d = domains.IndexOf(name);
                if (d < 0)
                    throw new InvalidDataException($"layer {l} names unknown domain '{name}'; the assignment's domains are [{string.Join(", ", domains)}]");
                var ids = (entry["experts"] as JsonArray ?? throw new InvalidDataException($"layer {l}, domain '{name}': missing \"experts\""))
                    .Select(e => e!.GetValue<int>()).ToArray();
                var bad = ids.Where(e => e < 0 || e >= numExperts).ToList();
                if (bad.Count > 0)
                    throw new InvalidDataException($"layer {l}, domain '{name}': expert ids [{string.Join(", ", bad)}] are outside 0..{numExperts - 1}");
                if (entry["copies"] is JsonArray copyArray)
                {
                    var slots = copyArray.Select(e => e!.GetValue<int>()).ToArray();
                    CheckCopies(l, name, ids, slots, numExperts, copySlots);
                    Array.Sort(ids, slots); // the file may list a domain's sources in any order; copies follow their sources
                    if (!copies.ContainsKey(name)) copies[name] = new int[numLayers][];
                    copies[name][l] = slots;
                    perDomain[d] = ids;
                    continue;
                }
                Array.Sort(ids);
                perDomain[d] = ids.Distinct().ToArray();
            }
            int missing = Array.FindIndex(perDomain, e => e is null);
            if (missing >= 0) throw new InvalidDataException($"layer {l} has no entry for domain '{domains[missing]}'");
            experts.Add(perDomain);
        }
        var exclusive = (root["exclusive_domains"] as JsonArray ?? []).Select(d => d?.GetValue<string>() ?? "").ToHashSet();
        var stranger = exclusive.FirstOrDefault(d => !domains.Contains(d));
        if (stranger is not null) throw new InvalidDataException($"exclusive_domains names unknown domain '{stranger}'");
        for (int l = 0; l < experts.Count; l++)
            foreach (var owner in exclusive)
            {
                int d = domains.IndexOf(owner);
                var shared = experts[l][d].Where(e => experts[l].Where((_, other) => other != d && !copies.ContainsKey(domains[other])).Any(o => o.Contains(e))).ToList();
                if (shared.Count > 0)
                    throw new InvalidDataException($"layer {l}: exclusive domain '{owner}' shares experts [{string.Join(", ", shared)}] with another domain");
            }
        var routedDomains = (root["routed_domains"] as JsonArray ?? []).Select(d => d?.GetValue<string>() ?? "").ToHashSet();
        var unknownRouted = routedDomains.FirstOrDefault(d => !domains.Contains(d));
        if (unknownRouted is not null) throw new InvalidDataException($"routed_domains names unknown domain '{unknownRouted}'");
        var copySlotsByDomain = CheckCopyLayout(copies, experts.Count);
        var confined = (root["confined_domains"] as JsonArray ?? []).Select(d => d?.GetValue<string>() ?? "").ToHashSet();
        var notCopied = confined.FirstOrDefault(d => !copies.ContainsKey(d));
        if (notCopied is not null)
            throw new InvalidDataException($"confined_domains names '{notCopied}', which " + (domains.Contains(notCopied) ? "has no expert copies" : "is not a domain of the assignment"));
        return new ExpertAssignment(domains, numExperts, experts)
        {
            ExclusiveDomains = exclusive, RoutedDomains = routedDomains, CopySlots = copySlotsByDomain, ConfinedDomains = confined,
        };
    }
}
