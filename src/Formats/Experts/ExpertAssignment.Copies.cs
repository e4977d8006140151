namespace DesMoe.Formats.Experts;

/// <summary>
/// Copied domains: a domain added online gets copies of the routed experts it uses most, in expert slots after the
/// routed ones, and trains only those. Its requests score the routed experts with the router's weights and run each
/// chosen expert's copy instead; a confined domain (<see cref="ConfinedDomains"/>) chooses among its copied experts
/// only. No other row ever reaches a copy, so nothing another row computes changes when a copied domain is added,
/// trained or removed.
/// </summary>
public sealed partial record ExpertAssignment
{
    /// <summary>
    /// Per copied domain, per layer: the expert slots (at or after <see cref="NumExperts"/>) holding its copies, aligned
    /// with its sources <c>Experts[layer][domain]</c>.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int[]>> CopySlots { get; init; } = new Dictionary<string, IReadOnlyList<int[]>>();

    /// <summary>
    /// Copied domains whose tokens choose among their own copied experts only (the copies of the experts they use most),
    /// so every expert a token runs is one the domain trained, as an exclusive domain's tokens ran only through the
    /// experts it owned. An unconfined copied domain (versions made before this) chooses among all experts as the
    /// no-domain path does, and a token's choices without a copy run frozen: on the string-skills model that learned
    /// intent to 65% where the exclusive form reached 79-86% (docs/online-adaptation.md).
    /// </summary>
    public IReadOnlySet<string> ConfinedDomains { get; init; } = new HashSet<string>();

    /// <summary>Copy slots per layer that the copied domains occupy (the model must have at least this many).</summary>
    public int UsedCopySlots => CopySlots.Count == 0 ? 0 : CopySlots.Values.SelectMany(layers => layers).Max(slots => slots.Length == 0 ? 0 : slots.Max() - NumExperts + 1);

    /// <summary>
    /// This assignment plus <paramref name="domain"/> holding copies of <paramref name="sources"/>[layer] in the slots
    /// from <paramref name="firstSlot"/> on, layer by layer in the order of the sorted sources.
    /// </summary>
    /// <param name="confined">whether the domain's tokens choose among its copies only (<see cref="ConfinedDomains"/>)</param>
    public ExpertAssignment WithCopiedDomain(string domain, IReadOnlyList<int[]> sources, int firstSlot, bool confined = true)
    {
        if (Domains.Contains(domain)) throw new ArgumentException($"domain '{domain}' is already assigned");
        if (sources.Count != NumLayers) throw new ArgumentException($"{sources.Count} layers of experts for a {NumLayers}-layer model");
        if (firstSlot < NumExperts + UsedCopySlots)
            throw new ArgumentException($"copy slot {firstSlot} is taken: the {NumExperts} routed experts and {UsedCopySlots} copy slots come first");
        var sorted = sources.Select(s => s.Order().ToArray()).ToList();
        for (int l = 0; l < NumLayers; l++)
        {
            var outside = sorted[l].Where(e => e < 0 || e >= NumExperts).ToList();
            if (outside.Count > 0) throw new ArgumentException($"layer {l}: experts [{string.Join(", ", outside)}] are outside 0..{NumExperts - 1}");
            if (sorted[l].Distinct().Count() != sorted[l].Length) throw new ArgumentException($"layer {l}: an expert is copied twice for '{domain}'");
        }
        var slots = sorted.Select(s => Enumerable.Range(firstSlot, s.Length).ToArray()).ToList();
        return new ExpertAssignment([.. Domains, domain], NumExperts, Experts.Select((layer, l) => (IReadOnlyList<int[]>)[.. layer, sorted[l]]).ToList())
        {
            ExclusiveDomains = ExclusiveDomains,
            RoutedDomains = RoutedDomains,
            CopySlots = new Dictionary<string, IReadOnlyList<int[]>>(CopySlots) { [domain] = slots },
            ConfinedDomains = confined ? new HashSet<string>(ConfinedDomains) { domain } : ConfinedDomains,
        };
    }

    /// <summary>
    /// This assignment without the copied domain <paramref name="domain"/>, its copy slots closed up, and per layer the
    /// copy slots that stay, in their new order (what the model keeps after its routed experts). Only a copied domain
    /// can go: an exclusive one's trained experts would return to the no-domain path and change what it computes.
    /// </summary>
    public (ExpertAssignment Assignment, IReadOnlyList<int[]> KeptCopySlots) WithoutCopiedDomain(string domain)
    {
        int d = Domains.ToList().IndexOf(domain);
        if (d < 0) throw new ArgumentException($"no domain '{domain}'; the domains are [{string.Join(", ", Domains)}]");
        if (!CopySlots.TryGetValue(domain, out var removed))
            throw new ArgumentException($"domain '{domain}' owns its experts (it was added before domains were copies): removing it would hand " +
                                        "its trained experts back to the no-domain path and change what that path computes");
        int used = UsedCopySlots;
        var kept = Enumerable.Range(0, NumLayers).Select(l => Enumerable.Range(NumExperts, used).Where(s => !removed[l].Contains(s)).ToArray()).ToList();
        var slots = CopySlots.Where(c => c.Key != domain).ToDictionary(c => c.Key,
            c => (IReadOnlyList<int[]>)c.Value.Select((layer, l) => layer.Select(s => NumExperts + Array.IndexOf(kept[l], s)).ToArray()).ToList());
        var assignment = new ExpertAssignment(Domains.Where(n => n != domain).ToList(), NumExperts,
            Experts.Select(layer => (IReadOnlyList<int[]>)layer.Where((_, i) => i != d).ToList()).ToList())
        {
            ExclusiveDomains = ExclusiveDomains,
            RoutedDomains = RoutedDomains,
            CopySlots = slots,
            ConfinedDomains = ConfinedDomains.Where(n => n != domain).ToHashSet(),
        };
        return (assignment, kept);
    }

    /// <summary>
    /// Per layer, [domains + 1, <see cref="NumExperts"/>]: the expert slot a token of each row runs when its router
    /// picks each expert. Row 0 (no domain) and every domain without copies run the expert itself; a copied domain
    /// runs its copy of each of its sources. Null when no domain has copies, so a model without them computes as before.
    /// </summary>
    public IReadOnlyList<long[,]>? SlotTable()
    {
        if (CopySlots.Count == 0) return null;
        return Enumerable.Range(0, NumLayers).Select(l =>
        {
            var table = new long[Domains.Count + 1, NumExperts];
            for (int row = 0; row <= Domains.Count; row++)
            {
                for (int e = 0; e < NumExperts; e++) table[row, e] = e;
                if (row > 0 && CopySlots.TryGetValue(Domains[row - 1], out var slots))
                    for (int i = 0; i < slots[l].Length; i++) table[row, Experts[l][row - 1][i]] = slots[l][i];
            }
            return table;
        }).ToList();
    }

    private static void CheckCopies(int layer, string domain, int[] sources, int[] slots, int numExperts, int copySlots)
    {
        if (slots.Length != sources.Length)
            throw new InvalidDataException($"layer {layer}, domain '{domain}': {slots.Length} copies for {sources.Length} experts");
        var outside = slots.Where(s => s < numExperts || s >= numExperts + copySlots).ToList();
        if (outside.Count > 0)
            throw new InvalidDataException($"layer {layer}, domain '{domain}': copy slots [{string.Join(", ", outside)}] are outside the model's copy slots " +
                                           (copySlots == 0 ? $"(it has none: desmoe_domain_expert_copies is 0)" : $"{numExperts}..{numExperts + copySlots - 1}"));
        if (sources.Distinct().Count() != sources.Length) throw new InvalidDataException($"layer {layer}, domain '{domain}': an expert is copied twice");
    }

    /// <summary>Every copied domain has copies in every layer, and no slot belongs to two domains.</summary>
    private static Dictionary<string, IReadOnlyList<int[]>> CheckCopyLayout(Dictionary<string, int[][]> copies, int numLayers)
    {
        for (int l = 0; l < numLayers; l++)
        {
            var missing = copies.FirstOrDefault(c => c.Value[l] is null);
            if (missing.Key is not null) throw new InvalidDataException($"layer {l}: domain '{missing.Key}' has copies in other layers but none here");
            var twice = copies.SelectMany(c => c.Value[l]).GroupBy(s => s).FirstOrDefault(g => g.Count() > 1);
            if (twice is not null)
                throw new InvalidDataException($"layer {l}: copy slot {twice.Key} belongs to more than one domain ({string.Join(", ", copies.Where(c => c.Value[l].Contains(twice.Key)).Select(c => c.Key))})");
        }
        return copies.ToDictionary(c => c.Key, c => (IReadOnlyList<int[]>)c.Value);
    }
}
