namespace DesMoe.Formats.Architectures;

/// <summary>
/// Names of the trainable model's modules that more than one runtime spells: the TorchSharp modules register them,
/// the hub mapping (<see cref="HubParameterNames"/>) translates them and the exporter reads the weights by them.
/// </summary>
public static class TensorNames
{
    /// <summary>The adaptive router's residual MLP inside a router: <c>layers.{i}.mlp.router.adapter.*</c>.</summary>
    public const string RouterAdapter = "adapter";

    /// <summary>The shared expert's sigmoid gate inside a MoE block: <c>layers.{i}.mlp.shared_experts_gate.weight</c>.</summary>
    public const string SharedExpertGate = "shared_experts_gate";

    /// <summary>
    /// Buffers some checkpoints store that the model derives from its config (rotary inverse frequencies): neither
    /// loaded nor reported as unexpected.
    /// </summary>
    public static bool IsDerivedBuffer(string name) => name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);
}
