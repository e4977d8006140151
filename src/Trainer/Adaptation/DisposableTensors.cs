using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>Tensors kept for a whole run (e.g. frozen reference routers), outside any dispose scope, disposed together.</summary>
internal sealed class DisposableTensors(IEnumerable<Tensor> tensors) : IDisposable
{
    private readonly List<Tensor> _items = tensors.Select(t => t.DetachFromDisposeScope()).ToList();

    public Tensor this[int index] => _items[index];

    public void Dispose() => _items.ForEach(t => t.Dispose());
}
