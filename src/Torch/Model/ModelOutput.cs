using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <param name="Logits">[batch, seq, vocab]</param>
/// <param name="BalanceLoss">mean over layers of <see cref="LoadBalancingLoss"/> on the non-padding tokens (unweighted)</param>
/// <param name="Routing">per layer, the router's decisions for the flattened [batch*seq] tokens</param>
public sealed record ModelOutput(Tensor Logits, Tensor BalanceLoss, IReadOnlyList<RouterOutput> Routing);
