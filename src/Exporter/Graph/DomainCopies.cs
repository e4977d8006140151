using DesMoe.Exporter.Onnx;
using DesMoe.Onnx;
using DesMoe.Formats.Experts;
using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Exporter.Graph;

/// <summary>A domain whose tokens run copies in a layer: its row of the slot table and its copy slots (ascending).</summary>
/// <param name="CopiedExperts">for each slot of <paramref name="Slots"/>, the routed expert it is a copy of</param>
/// <param name="CopiesOnly">every expert the row's routing allows is one it runs as a copy (a confined domain): its tokens need no routed expert</param>
internal sealed record CopiedDomain(int Row, long[] Slots, long[] CopiedExperts, bool CopiesOnly);

/// <summary>
/// Which rows of the slot tables a batch holds, computed once per run for every layer: <paramref name="RowsPresent"/>
/// [rows] int32 (1 where some token has the row), <paramref name="AnyCopies"/> a one-element bool (some token's row runs copies).
/// </summary>
internal sealed record RowsInBatch(string RowsPresent, string AnyCopies);

/// <summary>One layer's domain copies: the slot table, each token's row of it, the rows the batch holds and the domains with copies there.</summary>
internal sealed record LayerCopies(int Layer, long[,] Table, string TokenDomainRows, RowsInBatch Batch, IReadOnlyList<CopiedDomain> Domains);

/// <summary>
/// Domain expert copies in the graph (<see cref="ExpertAssignment.SlotTable"/>): the router scores the routed experts
/// as before, and each token's domain row decides which expert slot runs for each expert it picks. Row 0 (no domain)
/// maps every expert to itself, so the no-domain path's router arithmetic is the base model's. A domain's copies run
/// only in batches that hold its tokens (<see cref="WhenPresent"/>): otherwise each domain added would cost every
/// request the nodes of its copies, run on empty tensors.
/// </summary>
internal static class DomainCopies
{
    /// <summary>
    /// The rows a batch holds, in a handful of nodes whatever the number of domains: a batch without copied domains
    /// pays these and one <c>If</c> per layer for them.
    /// </summary>
    public static RowsInBatch RowsIn(GraphBuilder g, IReadOnlyList<long[,]> tables, string tokenDomainRows)
    {
        int rows = tables[0].GetLength(0);
        var allRows = g.Constant("table_rows", Tensors.Int64(Enumerable.Range(0, rows).Select(r => (long)r).ToArray(), [rows]));
        var tokenHasRow = g.Op("Equal", g.Unsqueeze(tokenDomainRows, g.Int64s("axes", 1)), allRows); // [tokens, rows]
        var present = g.ReduceMax(g.Cast(tokenHasRow, DataType.Int32), g.Int64s("token_axis", 0), keepDims: false);
        var runsCopies = Enumerable.Range(0, rows).Select(r => tables.Any(table => Slots(table, r).Length > 0) ? 1 : 0).ToArray();
        var anyCopies = g.Cast(g.ReduceMax(g.Mul(present, g.Constant("rows_running_copies", Tensors.Int32(runsCopies, [rows]))), g.Int64s("row_axis", 0), keepDims: false), DataType.Bool);
        return new RowsInBatch(present, anyCopies);
    }

    /// <param name="allowed">[domains + 1, experts] this layer's routing table: which experts each row may choose</param>
    /// <param name="topK">experts each token runs: a row runs copies only if it has at least this many</param>
    public static LayerCopies ForLayer(long[,] table, bool[,] allowed, int topK, int layer, string tokenDomainRows, RowsInBatch batch)
    {
        var domains = new List<CopiedDomain>();
        var taken = new HashSet<long>();
        for (int row = 1; row < table.GetLength(0); row++)
        {
            var slots = Slots(table, row);
            if (slots.Length == 0) continue;
            // Each copied domain's branch runs its own slots for every token routed there, so no slot may serve two.
            if (slots.FirstOrDefault(s => !taken.Add(s), -1) is var shared and >= 0)
                throw new ArgumentException($"expert slot {shared} of layer {layer} is a copy of two domains; each domain's copies must be its own");
            var copied = slots.Select(s => (long)Enumerable.Range(0, table.GetLength(1)).First(e => table[row, e] == s)).ToArray();
            var allowedExperts = Enumerable.Range(0, allowed.GetLength(1)).Where(e => allowed[row, e]).ToList();
            bool copiesOnly = allowedExperts.Count >= topK && allowedExperts.All(e => table[row, e] != e);
            domains.Add(new CopiedDomain(row, slots, copied, copiesOnly));
        }
        return new LayerCopies(layer, table, tokenDomainRows, batch, domains);
    }

    /// <summary>
    /// A batch without copied domains' tokens takes <paramref name="withoutCopies"/>; one with them starts from
    /// <paramref name="withCopies"/> and applies each copied domain's work with <paramref name="apply"/>, each only
    /// when the batch holds that domain's tokens.
    /// </summary>
    public static string WhenPresent(GraphBuilder g, LayerCopies copies, Func<string> withoutCopies, Func<string> withCopies, Func<CopiedDomain, string, string> apply)
    {
        if (copies.Domains.Count == 0) return withoutCopies();
        return g.If(copies.Batch.AnyCopies, DataType.Float, () => copies.Domains.Aggregate(withCopies(), (current, domain) =>
        {
            using var scope = g.Scope($"domain.{domain.Row - 1}");
            var present = g.Cast(g.Gather(copies.Batch.RowsPresent, g.Int64Scalar("row", domain.Row)), DataType.Bool);
            return g.If(present, DataType.Float, () => apply(domain, current), () => current);
        }), withoutCopies);
    }

    /// <summary>[tokens] bool: whether the token's row runs any copy in this layer.</summary>
    public static string RunsCopies(GraphBuilder g, LayerCopies copies)
    {
        var runs = Enumerable.Range(0, copies.Table.GetLength(0)).Select(r => copies.Domains.Any(d => d.Row == r)).ToArray();
        return g.Gather(g.Constant($"domain_runs_copies.{copies.Layer}", Tensors.Bool(runs, [runs.Length])), copies.TokenDomainRows);
    }

    /// <summary>[tokens, experts] int64: the expert slot each token runs for each routed expert (for <c>StandardOps</c>, after its own top-k).</summary>
    public static string SlotsPerToken(GraphBuilder g, LayerCopies copies) =>
        g.Gather(g.Constant($"domain_slots.{copies.Layer}", Tensors.Int64(Flatten(copies.Table), [copies.Table.GetLength(0), copies.Table.GetLength(1)])), copies.TokenDomainRows);

    /// <summary>
    /// [domain tokens, experts + copies] logits for an operator that picks its top-k itself (<c>com.microsoft.MoE</c>)
    /// over the routed experts followed by one domain's copies: each expert the domain runs as a copy has its logit
    /// moved to the copy's place and -inf in its own, so the operator sees the router's own logits, only moved to the
    /// slots the domain runs.
    /// </summary>
    /// <param name="logits">[domain tokens, experts] router logits of the domain's tokens, already restricted to its row</param>
    public static string DomainLogits(GraphBuilder g, string logits, LayerCopies copies, CopiedDomain domain)
    {
        var table = copies.Table;
        int experts = table.GetLength(1);
        var source = new long[experts + domain.Slots.Length];
        var runs = new bool[experts + domain.Slots.Length];
        for (int e = 0; e < experts; e++)
        {
            int place = table[domain.Row, e] == e ? e : experts + Array.IndexOf(domain.Slots, table[domain.Row, e]);
            source[place] = e;
            runs[place] = true;
        }
        var moved = g.Gather(logits, g.Constant($"domain_logit_source.{copies.Layer}", Tensors.Int64(source, [source.Length])), axis: 1);
        return g.Where(g.Constant($"domain_logit_runs.{copies.Layer}", Tensors.Bool(runs, [runs.Length])), moved, g.FloatScalar("minus_infinity", float.NegativeInfinity));
    }

    /// <summary>The copy slots <paramref name="row"/> runs in this layer (slots other than the expert picked), ascending.</summary>
    private static long[] Slots(long[,] table, int row) =>
        Enumerable.Range(0, table.GetLength(1)).Where(e => table[row, e] != e).Select(e => table[row, e]).Order().ToArray();

    private static long[] Flatten(long[,] table)
    {
        var flat = new long[table.Length];
        int i = 0;
        foreach (var value in table) flat[i++] = value;
        return flat;
    }
}
