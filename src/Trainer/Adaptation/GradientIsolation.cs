using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// Builds the expert-output hook that confines each domain's gradients to its own experts: for a token of domain d
/// routed to expert e that d does not own, the expert's output is detached, so the token still gets the expert's
/// computation in the forward pass but sends no gradient into e's weights. The routing weight keeps its gradient,
/// so the router still learns from every token.
/// </summary>
public sealed class GradientIsolation : IDisposable
{
    private readonly Tensor[][] _allowed; // [layer][expert] -> bool [domains]

    public GradientIsolation(ExpertAssignment assignment)
    {
        _allowed = Enumerable.Range(0, assignment.NumLayers).Select(l =>
            Enumerable.Range(0, assignment.NumExperts).Select(e =>
                tensor(Enumerable.Range(0, assignment.Domains.Count).Select(d => assignment.Allows(l, d, e)).ToArray())
                    .DetachFromDisposeScope()).ToArray()).ToArray();
    }

    /// <param name="tokenDomains">[batch*seq] domain id of every flattened token of the batch</param>
    public ExpertOutputFilter For(Tensor tokenDomains) => (layer, expert, tokenIndices, output) =>
    {
        var allowed = _allowed[layer][expert].index_select(0, tokenDomains.index_select(0, tokenIndices)).unsqueeze(1);
        return where(allowed, output, output.detach());
    };

    public void Dispose()
    {
        foreach (var t in _allowed.SelectMany(x => x)) t.Dispose();
    }
}
