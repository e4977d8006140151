using System.Text.RegularExpressions;
using DesMoe.Formats.Architectures.Common;

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
/// the checkpoint's dense layers, by index in stack order (DeepSeek-V2's first_k_dense_replace prefix, Qwen's
/// mlp_only_layers; <see cref="DesMoeForm"/> sets them from the config): the trainable model's
/// <c>dense_layers.{d}</c> is the d-th of them, spelled alike, and its MoE <c>layers.{i}</c> the i-th of the others
/// </param>
public sealed partial record HubParameterNames(string FeedForward, MlpNames Expert, string? SharedExpert = null, string? SharedExpertGate = null,
    IReadOnlyList<int>? DenseLayers = null)
{
    private IReadOnlyList<int> Dense => DenseLayers ?? [];

    /// <summary>The checkpoint layer of the i-th MoE layer: i, moved past every dense layer at or before it.</summary>
    private int MoeLayer(int i)
    {
        int layer = i;
        foreach (int dense in Dense)
            if (dense <= layer) layer++;
        return layer;
    }

    [GeneratedRegex($@"^{TensorNames.Layers}\.(\d+)\.(.+)$")]
    private static partial Regex LayerName();

    [GeneratedRegex($@"^{TensorNames.DenseLayers}\.(\d+)\.(.+)$")]
    private static partial Regex DenseLayerName();

    [GeneratedRegex($@"^{TensorNames.Mlp}\.{TensorNames.Experts}\.(\d+)\.({TensorNames.GateProj}|{TensorNames.UpProj}|{TensorNames.DownProj})\.weight$")]
    private static partial Regex ExpertName();

    /// <summary>
    /// The checkpoint name for <paramref name="name"/>, or null for a DES-MoE addition with no place in the
    /// architecture (the adaptive router's residual), which is saved in a side file instead.
    /// </summary>
    public string? ToHub(string name)
    {
        switch (name)
        {
            case $"{TensorNames.EmbedTokens}.weight": return $"model.{TensorNames.EmbedTokens}.weight";
            case $"{TensorNames.Norm}.weight": return $"model.{TensorNames.Norm}.weight";
            case $"{TensorNames.LmHead}.weight": return name;
        }
        if (DenseLayerName().Match(name) is { Success: true } dense && int.Parse(dense.Groups[1].Value) is var d && d < Dense.Count)
            return $"model.layers.{Dense[d]}.{dense.Groups[2].Value}";
        var layer = LayerName().Match(name);
        if (!layer.Success) throw new ArgumentException($"parameter '{name}' has no hub name", nameof(name));
        var rest = layer.Groups[2].Value;
        var prefix = $"model.{TensorNames.Layers}.{MoeLayer(int.Parse(layer.Groups[1].Value))}.";
        if (rest.StartsWith($"{TensorNames.Mlp}.{TensorNames.Router}.{TensorNames.RouterAdapter}.", StringComparison.Ordinal)) return null;
        if (rest == $"{TensorNames.Mlp}.{TensorNames.Router}.{TensorNames.RouterGate}.weight") return $"{prefix}{FeedForward}.gate.weight";
        if (ExpertName().Match(rest) is { Success: true } expert)
        {
            var projection = expert.Groups[2].Value switch { TensorNames.GateProj => Expert.Gate, TensorNames.UpProj => Expert.Up, _ => Expert.Down };
            return $"{prefix}{FeedForward}.{TensorNames.Experts}.{expert.Groups[1].Value}.{projection}.weight";
        }
        const string shared = $"{TensorNames.Mlp}.{TensorNames.SharedExperts}.";
        if (rest.StartsWith(shared, StringComparison.Ordinal))
            return $"{prefix}{FeedForward}.{Required(SharedExpert, name)}.{rest[shared.Length..]}";
        if (rest == $"{TensorNames.Mlp}.{TensorNames.SharedExpertGate}.weight") return $"{prefix}{FeedForward}.{Required(SharedExpertGate, name)}.weight";
        if (rest.StartsWith($"{TensorNames.Mlp}.", StringComparison.Ordinal)) throw new ArgumentException($"parameter '{name}' has no hub name", nameof(name));
        return prefix + rest; // attention and norms are spelled alike
    }

    private static string Required(string? hubName, string name) =>
        hubName ?? throw new ArgumentException($"parameter '{name}' has no counterpart in this architecture", nameof(name));
}
