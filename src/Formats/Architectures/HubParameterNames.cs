using System.Text.RegularExpressions;
using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Experts;

namespace DesMoe.Formats.Architectures;

/// <summary>
/// Translates the trainable model's parameter names (<see cref="MoeTransformer"/>: <c>layers.{i}.mlp.router.gate.weight</c>,
/// <c>layers.{i}.mlp.experts.{e}.gate_proj.weight</c>, ...) into a hub checkpoint's (<c>model.layers.{i}.mlp.gate.weight</c>,
/// Mixtral's <c>model.layers.{i}.block_sparse_moe.experts.{e}.w1.weight</c>, ...). One direction is enough: loading
/// and saving both walk the module's own names.
/// </summary>
/// <param name="FeedForward">the MoE block's name in a layer: <c>mlp</c>, or Mixtral's <c>block_sparse_moe</c></param>
/// <param name="Expert">the checkpoint names of each expert's three projections</param>
/// <param name="SharedExpert">the shared expert's module name (Qwen2-MoE's <c>shared_expert</c>), if there is one</param>
/// <param name="SharedExpertGate">the shared expert's sigmoid gate (Qwen2-MoE's <c>shared_expert_gate</c>), if there is one</param>
/// <param name="DenseLayers">
/// how many dense layers come first (DeepSeek-V2's first_k_dense_replace): the trainable model's <c>dense_layers.{d}</c>
/// are the checkpoint's layers d, spelled alike, and its MoE <c>layers.{i}</c> the checkpoint's layers i + DenseLayers
/// </param>
public sealed partial record HubParameterNames(string FeedForward, MlpNames Expert, string? SharedExpert = null, string? SharedExpertGate = null,
    int DenseLayers = 0)
{
    [GeneratedRegex(@"^layers\.(\d+)\.(.+)$")]
    private static partial Regex LayerName();

    [GeneratedRegex(@"^dense_layers\.(\d+)\.(.+)$")]
    private static partial Regex DenseLayerName();

    [GeneratedRegex(@"^mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$")]
    private static partial Regex ExpertName();

    /// <summary>
    /// The checkpoint name for <paramref name="name"/>, or null for a DES-MoE addition with no place in the
    /// architecture (the adaptive router's residual), which is saved in a side file instead.
    /// </summary>
    public string? ToHub(string name)
    {
        switch (name)
        {
            case "embed_tokens.weight": return "model.embed_tokens.weight";
            case "norm.weight": return "model.norm.weight";
            case "lm_head.weight": return name;
        }
        if (DenseLayerName().Match(name) is { Success: true } dense && int.Parse(dense.Groups[1].Value) < DenseLayers)
            return $"model.layers.{dense.Groups[1].Value}.{dense.Groups[2].Value}";
        var layer = LayerName().Match(name);
        if (!layer.Success) throw new ArgumentException($"parameter '{name}' has no hub name", nameof(name));
        var rest = layer.Groups[2].Value;
        var prefix = $"model.layers.{int.Parse(layer.Groups[1].Value) + DenseLayers}.";
        if (rest.StartsWith($"mlp.router.{TensorNames.RouterAdapter}.", StringComparison.Ordinal)) return null;
        if (rest == "mlp.router.gate.weight") return $"{prefix}{FeedForward}.gate.weight";
        if (ExpertName().Match(rest) is { Success: true } expert)
        {
            var projection = expert.Groups[2].Value switch { "gate_proj" => Expert.Gate, "up_proj" => Expert.Up, _ => Expert.Down };
            return $"{prefix}{FeedForward}.experts.{expert.Groups[1].Value}.{projection}.weight";
        }
        if (rest.StartsWith("mlp.shared_experts.", StringComparison.Ordinal))
            return $"{prefix}{FeedForward}.{Required(SharedExpert, name)}.{rest["mlp.shared_experts.".Length..]}";
        if (rest == $"mlp.{TensorNames.SharedExpertGate}.weight") return $"{prefix}{FeedForward}.{Required(SharedExpertGate, name)}.weight";
        if (rest.StartsWith("mlp.", StringComparison.Ordinal)) throw new ArgumentException($"parameter '{name}' has no hub name", nameof(name));
        return prefix + rest; // attention and norms are spelled alike
    }

    private static string Required(string? hubName, string name) =>
        hubName ?? throw new ArgumentException($"parameter '{name}' has no counterpart in this architecture", nameof(name));
}
