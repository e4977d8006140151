using DesMoe.Exporter.Onnx;
using DesMoe.Onnx;
using DesMoe.Formats.Experts;

namespace DesMoe.Exporter.Graph;

/// <summary>
/// Domain expert copies in the graph (<see cref="ExpertAssignment.SlotTable"/>): the router scores the routed experts
/// as before, and each token's domain row decides which expert slot runs for each expert it picks. Row 0 (no domain)
/// maps every expert to itself, so the no-domain path's router arithmetic is the base model's.
/// </summary>
internal static class DomainCopies
{
    /// <summary>[tokens, experts] int64: the expert slot each token runs for each routed expert (for <c>StandardOps</c>, after its own top-k).</summary>
    /// <param name="table">[domains + 1, experts] this layer's slot table</param>
    /// <param name="tokenDomainRows">[tokens] each token's row of the table</param>
    public static string SlotsPerToken(GraphBuilder g, long[,] table, string tokenDomainRows, int layer) =>
        g.Gather(g.Constant($"domain_slots.{layer}", Tensors.Int64(Flatten(table), [table.GetLength(0), table.GetLength(1)])), tokenDomainRows);

    /// <summary>
    /// [domain tokens, experts + copies] logits for an operator that picks its top-k itself (<c>com.microsoft.MoE</c>)
    /// over the routed experts followed by one domain's <paramref name="copies"/>: each expert the domain runs as a copy
    /// has its logit moved to the copy's place and -inf in its own, so the operator sees the router's own logits, only
    /// moved to the slots the domain runs.
    /// </summary>
    /// <param name="logits">[domain tokens, experts] router logits of the domain's tokens, already restricted to its row</param>
    /// <param name="copies">the domain's copy slots, in the order the operator's weights stack them</param>
    public static string DomainLogits(GraphBuilder g, string logits, long[,] table, int row, long[] copies, int layer)
    {
        int experts = table.GetLength(1);
        var source = new long[experts + copies.Length];
        var runs = new bool[experts + copies.Length];
        for (int e = 0; e < experts; e++)
        {
            int place = table[row, e] == e ? e : experts + Array.IndexOf(copies, table[row, e]);
            source[place] = e;
            runs[place] = true;
        }
        var moved = g.Gather(logits, g.Constant($"domain_logit_source.{layer}", Tensors.Int64(source, [source.Length])), axis: 1);
        return g.Where(g.Constant($"domain_logit_runs.{layer}", Tensors.Bool(runs, [runs.Length])), moved, g.FloatScalar("minus_infinity", float.NegativeInfinity));
    }

    /// <summary>[tokens] bool: whether the token's row runs any copy (an expert slot other than the expert it picked).</summary>
    public static string RunsCopies(GraphBuilder g, long[,] table, string tokenDomainRows, int layer)
    {
        var runs = Enumerable.Range(0, table.GetLength(0)).Select(r => Enumerable.Range(0, table.GetLength(1)).Any(e => table[r, e] != e)).ToArray();
        return g.Gather(g.Constant($"domain_runs_copies.{layer}", Tensors.Bool(runs, [runs.Length])), tokenDomainRows);
    }

    private static long[] Flatten(long[,] table)
    {
        var flat = new long[table.Length];
        int i = 0;
        foreach (var value in table) flat[i++] = value;
        return flat;
    }
}
