using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using DesMoe.Exporter.Onnx;
using static TorchSharp.torch;

namespace DesMoe.Exporter.Graph;

/// <summary>
/// Routed experts through ONNX Runtime's <c>com.microsoft.MoE</c> contrib operator. It applies softmax, top-k and
/// (optionally) renormalisation to the router logits itself. Its CPU kernel has no separate FC3 (up) input, only
/// interleaved SwiGLU: fc1 is [experts, 2 * inner, hidden] with gate row i at 2i and up row i at 2i + 1, computing
/// gate * sigmoid(alpha * gate) * (up + beta), so alpha = 1 and beta = 0 give our silu(gate) * up.
/// </summary>
internal static class ContribMoeExperts
{
    public static string Build(GraphBuilder g, WeightTable weights, MoeConfig config, string prefix, string tokens, string logits)
    {
        int experts = config.NumRoutedExperts;
        var fc1 = weights.Computed(prefix + "experts.fc1_interleaved", find => stack(Enumerable.Range(0, experts).Select(e =>
            stack([find($"{prefix}{TensorNames.Experts}.{e}.{TensorNames.GateProj}.weight"), find($"{prefix}{TensorNames.Experts}.{e}.{TensorNames.UpProj}.weight")], dim: 1)
                .reshape(2 * config.ExpertHiddenSize, config.HiddenSize)).ToArray()));
        var fc2 = weights.Computed(prefix + "experts.fc2", find =>
            stack(Enumerable.Range(0, experts).Select(e => find($"{prefix}{TensorNames.Experts}.{e}.{TensorNames.DownProj}.weight")).ToArray()));

        return g.Node("MoE", [tokens, logits, fc1, "", fc2], 1, OnnxFormat.MicrosoftDomain,
            Attr.Int("k", config.TopK),
            Attr.String("activation_type", "swiglu"),
            Attr.Int("swiglu_fusion", 1),
            Attr.Float("activation_alpha", 1f),
            Attr.Float("activation_beta", 0f),
            Attr.Float("swiglu_limit", float.PositiveInfinity),
            Attr.Int("normalize_routing_weights", config.NormalizeTopKProbabilities ? 1 : 0),
            Attr.Int("use_sparse_mixer", 0))[0];
    }
}
