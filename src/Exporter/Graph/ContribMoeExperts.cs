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
    /// <param name="logits">[tokens, experts] router logits, restricted to each token's domain</param>
    public static string Build(GraphBuilder g, WeightTable weights, MoeConfig config, string prefix, string tokens, string logits)
    {
        var (fc1, fc2) = Weights(weights, config, prefix, "experts", 0, config.NumRoutedExperts);
        return Node(g, config, tokens, logits, fc1, fc2);
    }

    /// <summary>
    /// With domain expert copies: a batch without copied domains' tokens goes through the very operator a model
    /// without copies has, over the routed experts. In a batch with them, the tokens whose row runs no copy go
    /// through that operator and each copied domain's tokens through an operator of their own over the routed experts
    /// and that domain's copies, whose logits are the router's moved to the slots the domain runs
    /// (<see cref="DomainCopies.DomainLogits"/>). One operator over every slot would not do: the CPU kernel splits the
    /// experts among its threads and sums the threads' partial outputs, so each expert slot added regroups that sum
    /// and moves every other path's outputs in their last bits. The price is memory: ONNX Runtime folds each domain's
    /// concatenated weights into one more copy of the routed experts (StandardOps has no such cost).
    /// </summary>
    public static string BuildWithCopies(GraphBuilder g, WeightTable weights, MoeConfig config, string prefix, string tokens, string logits, LayerCopies copies)
    {
        var (fc1, fc2) = Weights(weights, config, prefix, "experts", 0, config.NumRoutedExperts);
        // A domain that runs copies only (confined) gets an operator over its copies alone; one that may also run routed
        // experts, over the routed experts and its copies, concatenated here in the main graph, where ONNX Runtime folds
        // them into constants once (one more copy of the routed experts in memory per such domain).
        var domainWeights = copies.Domains.ToDictionary(d => d.Row, d =>
        {
            var (copyFc1, copyFc2) = Weights(weights, config, prefix, $"experts.domain_{d.Row - 1}", d.Slots);
            return d.CopiesOnly ? (Fc1: copyFc1, Fc2: copyFc2) : (Fc1: g.Concat(0, fc1, copyFc1), Fc2: g.Concat(0, fc2, copyFc2));
        });
        string Rows(string mask) => g.Reshape(g.NonZero(mask), g.Int64s("flat", -1));
        string Scatter(string into, string rows, string values) => g.Op("ScatterND", into, g.Unsqueeze(rows, g.Int64s("axes", 1)), values);

        return DomainCopies.WhenPresent(g, copies,
            withoutCopies: () => Node(g, config, tokens, logits, fc1, fc2),
            withCopies: () =>
            {
                var plain = Rows(g.Op("Not", DomainCopies.RunsCopies(g, copies)));
                return Scatter(g.ConstantOfShape(g.Shape(tokens)), plain, Node(g, config, g.Gather(tokens, plain), g.Gather(logits, plain), fc1, fc2));
            },
            apply: (domain, output) =>
            {
                var rows = Rows(g.Op("Equal", copies.TokenDomainRows, g.Int64Scalar("row", domain.Row)));
                var (domainFc1, domainFc2) = domainWeights[domain.Row];
                var domainLogits = domain.CopiesOnly
                    ? g.Gather(g.Gather(logits, rows), g.Constant($"domain_copied_experts.{copies.Layer}", Tensors.Int64(domain.CopiedExperts, [domain.CopiedExperts.Length])), axis: 1)
                    : DomainCopies.DomainLogits(g, g.Gather(logits, rows), copies, domain);
                return Scatter(output, rows, Node(g, config, g.Gather(tokens, rows), domainLogits, domainFc1, domainFc2));
            });
    }

    private static (string Fc1, string Fc2) Weights(WeightTable weights, MoeConfig config, string prefix, string name, int first, int count) =>
        Weights(weights, config, prefix, name, Enumerable.Range(first, count).Select(e => (long)e).ToArray());

    /// <summary>fc1 (interleaved gate/up) and fc2 (down) of the expert <paramref name="slots"/>, stacked in that order.</summary>
    private static (string Fc1, string Fc2) Weights(WeightTable weights, MoeConfig config, string prefix, string name, long[] slots)
    {
        var fc1 = weights.Stacked($"{prefix}{name}.fc1_interleaved", slots.Length, (i, find) =>
            stack([find($"{prefix}{TensorNames.Experts}.{slots[i]}.{TensorNames.GateProj}.weight"), find($"{prefix}{TensorNames.Experts}.{slots[i]}.{TensorNames.UpProj}.weight")], dim: 1)
                .reshape(2 * config.ExpertHiddenSize, config.HiddenSize));
        var fc2 = weights.Stacked($"{prefix}{name}.fc2", slots.Length, (i, find) => find($"{prefix}{TensorNames.Experts}.{slots[i]}.{TensorNames.DownProj}.weight"));
        return (fc1, fc2);
    }

    private static string Node(GraphBuilder g, MoeConfig config, string tokens, string logits, string fc1, string fc2) =>
        g.Node("MoE", [tokens, logits, fc1, "", fc2], 1, OnnxFormat.MicrosoftDomain,
            Attr.Int("k", config.TopK),
            Attr.String("activation_type", "swiglu"),
            Attr.Int("swiglu_fusion", 1),
            Attr.Float("activation_alpha", 1f),
            Attr.Float("activation_beta", 0f),
            Attr.Float("swiglu_limit", float.PositiveInfinity),
            Attr.Int("normalize_routing_weights", config.NormalizeTopKProbabilities ? 1 : 0),
            Attr.Int("use_sparse_mixer", 0))[0];
}
