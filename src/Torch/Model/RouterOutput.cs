using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>What one MoE layer's router decided for the flattened tokens of a forward pass.</summary>
/// <param name="Inputs">[tokens, hidden] what the router scored (lets a trainer compare with a frozen reference router)</param>
/// <param name="Logits">[tokens, experts] raw router logits</param>
/// <param name="Probabilities">[tokens, experts] softmax of the logits</param>
/// <param name="TopKIndices">[tokens, k] the chosen experts, best first</param>
/// <param name="TopKWeights">[tokens, k] the mixing weights of the chosen experts (renormalised when configured)</param>
public sealed record RouterOutput(Tensor Inputs, Tensor Logits, Tensor Probabilities, Tensor TopKIndices, Tensor TopKWeights);
