using System.Text.Json;
using DesMoe.Torch.Model;
using DesMoe.Torch.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// The paper's A_new: per MoE layer, how often each domain's real tokens selected each routed expert in their top-k
/// since the last refresh of the expert-domain matrix. <see cref="FlushInto"/> folds it into the matrix with the
/// paper's momentum (A = m A_new + (1 - m) A_old; the first refresh takes A_new as it is) and starts a new window.
/// The domain-routed variant flushes it every step at its EMA rate.
/// </summary>
public sealed class ExpertUsageWindow
{
    private readonly long[][,] _selections; // [layer][domain, expert]
    private bool _refreshedBefore;

    public ExpertUsageWindow(int numLayers, int numDomains, int numExperts)
    {
        _selections = Enumerable.Range(0, numLayers).Select(_ => new long[numDomains, numExperts]).ToArray();
    }

    public bool IsEmpty => _selections.All(layer => layer.Cast<long>().All(c => c == 0));

    /// <summary>Training steps counted since the window was last flushed.</summary>
    public int Steps { get; private set; }

    /// <summary>Whether the window has been folded into the matrix before (the matrix is no longer blank).</summary>
    public bool RefreshedBefore => _refreshedBefore;

    /// <param name="routing">each MoE layer's routing of the batch's flattened tokens</param>
    /// <param name="tokenDomains">[tokens] each token's domain id</param>
    /// <param name="realTokens">[tokens] true for tokens that are not padding</param>
    public void Add(IReadOnlyList<RouterOutput> routing, Tensor tokenDomains, Tensor realTokens)
    {
        Steps++;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int domains = _selections[0].GetLength(0), experts = _selections[0].GetLength(1);
        using var perDomain = experts.ToScalar();
        var owners = tokenDomains[realTokens];
        for (int l = 0; l < routing.Count; l++)
        {
            var chosen = routing[l].TopKIndices[realTokens];                      // [real tokens, k]
            var flat = owners.unsqueeze(1).expand_as(chosen).mul(perDomain).add(chosen, Scalars.One).flatten();
            var counts = flat.bincount(null, domains * experts).data<long>().ToArray();
            for (int d = 0; d < domains; d++)
                for (int e = 0; e < experts; e++) _selections[l][d, e] += counts[d * experts + e];
        }
    }

    /// <summary>Refreshes the rows of the domains seen in this window (each as its selection share) and clears it.</summary>
    /// <param name="firstTakesAll">the paper's first refresh replaces the blank rows (rate 1); false moves them by <paramref name="momentum"/> too</param>
    public void FlushInto(SpecificityMatrix matrix, double momentum, bool firstTakesAll = true)
    {
        double rate = _refreshedBefore || !firstTakesAll ? momentum : 1.0;
        for (int l = 0; l < _selections.Length; l++)
        {
            var counts = _selections[l];
            for (int d = 0; d < counts.GetLength(0); d++)
            {
                double total = 0;
                for (int e = 0; e < counts.GetLength(1); e++) total += counts[d, e];
                if (total == 0) continue;
                matrix.Update(l, d, Enumerable.Range(0, counts.GetLength(1)).Select(e => counts[d, e] / total).ToArray(), rate);
            }
        }
        _refreshedBefore = true;
        Clear();
    }

    /// <summary>Drops the counts without folding them in.</summary>
    public void Clear()
    {
        foreach (var counts in _selections) Array.Clear(counts);
        Steps = 0;
    }

    /// <summary>The window's state for a checkpoint (an interrupted run must refresh from the same counts).</summary>
    public string ToJson() => JsonSerializer.Serialize(new WindowState(_refreshedBefore, Steps,
        _selections.Select(m => Enumerable.Range(0, m.GetLength(0)).Select(d => Enumerable.Range(0, m.GetLength(1)).Select(e => m[d, e]).ToArray()).ToArray()).ToArray()));

    public void Restore(string json)
    {
        var state = JsonSerializer.Deserialize<WindowState>(json) ?? throw new InvalidDataException("empty expert usage window");
        if (state.Selections.Length != _selections.Length) throw new InvalidDataException($"usage window has {state.Selections.Length} layers, the model {_selections.Length}");
        _refreshedBefore = state.RefreshedBefore;
        Steps = state.Steps;
        for (int l = 0; l < _selections.Length; l++)
            for (int d = 0; d < _selections[l].GetLength(0); d++)
                for (int e = 0; e < _selections[l].GetLength(1); e++) _selections[l][d, e] = state.Selections[l][d][e];
    }

    private sealed record WindowState(bool RefreshedBefore, int Steps, long[][][] Selections);
}
