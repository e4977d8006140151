using static TorchSharp.torch;

namespace DesMoe.Core.Architectures.Hub;

/// <summary>How to materialise a hub checkpoint.</summary>
/// <param name="ParameterType">
/// Element type of the module's parameters. Float32 by default whatever the checkpoint stores (bf16/fp16 weights
/// are widened on load): it is the type the parity tests pin against transformers. Float16/BFloat16 halve memory
/// but compute norms and attention in that type, so logits drift from the float32 reference.
/// </param>
/// <param name="Device">where the parameters live; null = CPU</param>
public sealed record HubLoadOptions(ScalarType ParameterType = ScalarType.Float32, Device? Device = null)
{
    public static HubLoadOptions Default { get; } = new();
}
