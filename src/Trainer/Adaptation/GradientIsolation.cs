using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// DES-MoE's gradient masks (Eq. 7) as an <see cref="ExpertGradientMask"/>: a token of domain d routed to expert e
/// that d does not own still gets e's output, but sends no gradient into e's weights. An expert that only such
/// tokens reached gets no gradient at all this step, so the optimizer leaves it and its moments as they are.
/// </summary>
public sealed class GradientIsolation(ExpertAssignment assignment, bool cutsHiddenState = false) : IDisposable
{
    private readonly Tensor[][] _allowed = Enumerable.Range(0, assignment.NumLayers).Select(l => // [layer][expert] -> bool [domains]
        Enumerable.Range(0, assignment.NumExperts).Select(e =>
            tensor(Enumerable.Range(0, assignment.Domains.Count).Select(d => assignment.Allows(l, d, e)).ToArray())
                .DetachFromDisposeScope()).ToArray()).ToArray();

    /// <param name="tokenDomains">[batch*seq] domain id of every flattened token of the batch</param>
    public ExpertGradientMask For(Tensor tokenDomains) => new(
        (layer, expert, tokenIndices) => _allowed[layer][expert].index_select(0, tokenDomains.index_select(0, tokenIndices)),
        cutsHiddenState);

    public void Dispose()
    {
        foreach (var t in _allowed.SelectMany(x => x)) t.Dispose();
    }
}
