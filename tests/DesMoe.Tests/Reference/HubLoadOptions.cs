using static TorchSharp.torch;

namespace DesMoe.Tests.Reference;

/// <summary>How to materialise a hub checkpoint.</summary>
/// <param name="ParameterType">
/// Element type of the module's parameters. Only Float32 for now, whatever the checkpoint stores: bf16/fp16
/// weights are widened on load, and float32 is what the parity tests pin against transformers. Half-precision
/// parameters would need the rotary tables, masks and norms to follow the parameter dtype; until that is done and
/// tested, asking for them fails rather than running a half-checked path.
/// </param>
/// <param name="Device">where the parameters live; null = CPU</param>
public sealed record HubLoadOptions(ScalarType ParameterType = ScalarType.Float32, Device? Device = null)
{
    public void Validate()
    {
        if (ParameterType != ScalarType.Float32)
            throw new ArgumentException($"parameter dtype {ParameterType} is not supported yet (supported: Float32; half-precision checkpoints load widened to Float32)", nameof(ParameterType));
    }

    public static HubLoadOptions Default { get; } = new();
}
