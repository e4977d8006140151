using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Core.Tensors;

namespace DesMoe.Core.Model;

/// <summary>Softmax top-k gate: scores every routed expert and keeps the k most probable per token.</summary>
public sealed class TopKRouter : nn.Module<Tensor, RouterOutput>
{
    [ComponentName(Name = "gate")] private readonly Linear _gate;
    private readonly int _topK;
    private readonly bool _normalize;

    public TopKRouter(int hiddenSize, int numExperts, int topK, bool normalizeTopK) : base(nameof(TopKRouter))
    {
        if (topK > numExperts)
            throw new ArgumentOutOfRangeException(nameof(topK), $"top-k ({topK}) exceeds the number of experts ({numExperts})");
        _topK = topK;
        _normalize = normalizeTopK;
        _gate = nn.Linear(hiddenSize, numExperts, hasBias: false);
        RegisterComponents();
    }

    public int TopK => _topK;

    /// <param name="tokens">[tokens, hidden]</param>
    public override RouterOutput forward(Tensor tokens) => FromLogits(tokens, _gate.forward(tokens), _topK, _normalize);

    /// <param name="tokens">[tokens, hidden]</param>
    /// <param name="allowed">[tokens, experts] experts each token may use, or null for all</param>
    public RouterOutput Forward(Tensor tokens, Tensor? allowed)
    {
        var logits = _gate.forward(tokens);
        if (allowed is not null) logits = logits.masked_fill(allowed.logical_not(), Scalars.NegativeInfinity);
        return FromLogits(tokens, logits, _topK, _normalize);
    }

    /// <summary>The gate's weight [experts, hidden].</summary>
    public TorchSharp.Modules.Parameter Weight => _gate.weight!;

    public static RouterOutput FromLogits(Tensor inputs, Tensor logits, int topK, bool normalize)
    {
        var probabilities = logits.softmax(-1);
        var (weights, indices) = probabilities.topk(topK, dim: -1);
        if (normalize) weights = weights / weights.sum(-1, keepdim: true);
        return new RouterOutput(inputs, logits, probabilities, indices, weights);
    }
}
