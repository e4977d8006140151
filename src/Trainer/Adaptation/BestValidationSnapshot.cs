using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// The weights (and expert assignment) at the lowest validation loss so far, kept in memory so a run can end on its
/// best validation point rather than its last, as the paper keeps its best checkpoint.
/// </summary>
internal sealed class BestValidationSnapshot : IDisposable
{
    private Dictionary<string, Tensor>? _weights;

    public int? Step { get; private set; }
    public double Loss { get; private set; } = double.PositiveInfinity;
    public ExpertAssignment? Assignment { get; private set; }

    /// <summary>Keeps the model's weights when <paramref name="loss"/> is the lowest seen.</summary>
    public void Offer(int step, double loss, MoeTransformer model, ExpertAssignment? assignment)
    {
        if (!(loss < Loss)) return;
        using var noGrad = no_grad();
        if (_weights is null)
            _weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
        else
            foreach (var (name, value) in model.state_dict()) _weights[name].copy_(value);
        (Step, Loss, Assignment) = (step, loss, assignment);
    }

    /// <summary>Writes the kept weights back into the model.</summary>
    public void Restore(MoeTransformer model)
    {
        if (_weights is null) return;
        using var noGrad = no_grad();
        foreach (var (name, value) in model.state_dict()) value.copy_(_weights[name]);
    }

    public void Dispose()
    {
        if (_weights is not null) foreach (var t in _weights.Values) t.Dispose();
    }
}
