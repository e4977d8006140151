using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using DesMoe.Exporter.Onnx;

namespace DesMoe.Exporter.Graph;

/// <summary>
/// Routed experts from standard ONNX ops. Softmax and top-k pick each token's experts; the top-k weights are scattered
/// into a dense [tokens, experts] matrix; then, per expert, NonZero finds the tokens routed to it, which alone go
/// through its SwiGLU and are scatter-added back. Work is proportional to tokens x top-k, not to the number of experts.
/// With domain expert copies the chosen experts are mapped to each token's expert slots before the scatter, so the
/// softmax and top-k are the router's own, over the routed experts only; a domain's copy slots run only in batches
/// that hold its tokens.
/// </summary>
internal static class StandardOpsExperts
{
    public static string Build(GraphBuilder g, WeightTable weights, MoeConfig config, string prefix, string tokens, string logits,
        ExpertQuantization quantization = ExpertQuantization.None, QuantizedCompute compute = QuantizedCompute.Float32, LayerCopies? copies = null)
    {
        var probabilities = g.Softmax(logits, -1);
        var (topWeights, topExperts) = g.TopK(probabilities, g.Int64s("k", config.TopK), -1);
        if (config.NormalizeTopKProbabilities)
            topWeights = g.Div(topWeights, g.ReduceSum(topWeights, g.Int64s("axes", -1), keepDims: true));
        var weightShape = g.Shape(logits);
        if (copies is not null)
        {
            topExperts = g.Op("GatherElements", [DomainCopies.SlotsPerToken(g, copies), topExperts], Attr.Int("axis", 1));
            weightShape = g.Concat(0, g.Slice(weightShape, g.Int64s("start", 0), g.Int64s("end", 1), g.Int64s("axis0", 0)), g.Int64s("expert_slots", config.ExpertSlots));
        }
        var perExpertWeight = g.Op("ScatterElements", [g.ConstantOfShape(weightShape), topExperts, topWeights], Attr.Int("axis", 1));

        string RunSlot(long slot, string output)
        {
            using var scope = g.Scope($"expert.{slot}");
            var weight = g.Gather(perExpertWeight, g.Int64Scalar("expert", slot), axis: 1);
            var rows = g.Reshape(g.NonZero(weight), g.Int64s("flat", -1));
            var expertOutput = DecoderGraph.SwiGlu(g, weights, g.Gather(tokens, rows), $"{prefix}{TensorNames.Experts}.{slot}.", quantization, compute);
            var weighted = g.Mul(expertOutput, g.Unsqueeze(g.Gather(weight, rows), g.Int64s("axes", 1)));
            return g.ScatterNdAdd(output, g.Unsqueeze(rows, g.Int64s("axes", 1)), weighted);
        }

        var routed = g.ConstantOfShape(g.Shape(tokens));
        for (int e = 0; e < config.NumRoutedExperts; e++) routed = RunSlot(e, routed);
        // A token adds its copies' outputs after its routed experts', in slot order, as it would over every slot at once.
        return copies is null ? routed
            : DomainCopies.WhenPresent(g, copies, () => routed, () => routed, (domain, output) => domain.Slots.Aggregate(output, (o, slot) => RunSlot(slot, o)));
    }
}
