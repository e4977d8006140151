using DesMoe.Formats.Architectures;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Torch.Model;

/// <summary>
/// Softmax top-k gate: scores every routed expert and keeps the k most probable per token. With an
/// <see cref="AdaptiveRouterResidual"/> (DES-MoE's adaptive router) the scores are the linear gate's plus the residual's.
/// With <see cref="RouterGroups"/> (DeepSeek's group-limited greedy) the k are picked only among the experts of the
/// groups whose best expert is most probable, as transformers does: the softmax is over every expert, the others'
/// probabilities are zeroed before the top-k.
/// </summary>
public sealed class TopKRouter : nn.Module<Tensor, RouterOutput>
{

    [ComponentName(Name = TensorNames.RouterGate)] private readonly Linear _gate;
    private AdaptiveRouterResidual? _adapter;
    private readonly int _hiddenSize;
    private readonly int _topK;
    private readonly bool _normalize;
    private readonly RouterGroups _groups;

    /// <param name="adapterWidth">hidden width of the adaptive router's residual MLP; 0 for the plain linear gate</param>
    /// <param name="groups">group-limited routing, or null for plain top-k</param>
    public TopKRouter(int hiddenSize, int numExperts, int topK, bool normalizeTopK, int adapterWidth = 0, RouterGroups? groups = null) : base(nameof(TopKRouter))
    {
        if (topK > numExperts)
            throw new ArgumentOutOfRangeException(nameof(topK), $"top-k ({topK}) exceeds the number of experts ({numExperts})");
        _groups = groups ?? RouterGroups.None;
        if (numExperts % _groups.Count != 0 || _groups.Kept < 1 || _groups.Kept > _groups.Count)
            throw new ArgumentOutOfRangeException(nameof(groups), $"{numExperts} experts cannot be split into {_groups.Count} groups keeping {_groups.Kept}");
        _hiddenSize = hiddenSize;
        _topK = topK;
        _normalize = normalizeTopK;
        _gate = nn.Linear(hiddenSize, numExperts, hasBias: false);
        RegisterComponents();
        if (adapterWidth > 0) EnableAdapter(adapterWidth);
    }

    public int TopK => _topK;

    public bool HasAdapter => _adapter is not null;

    /// <summary>Adds the adaptive router's residual MLP (zero output until it trains, so routing is unchanged).</summary>
    public void EnableAdapter(int width)
    {
        if (_adapter is not null) throw new InvalidOperationException("the router already has an adaptive residual");
        _adapter = new AdaptiveRouterResidual(_hiddenSize, width, (int)_gate.weight!.shape[0]);
        register_module(TensorNames.RouterAdapter, _adapter);
    }

    /// <summary>[tokens, experts] router logits for [tokens, hidden] inputs, before any domain restriction.</summary>
    public Tensor Score(Tensor tokens)
    {
        var logits = _gate.Apply(tokens);
        return _adapter is null ? logits : logits.add(_adapter.forward(tokens), Scalars.One);
    }

    /// <param name="tokens">[tokens, hidden]</param>
    public override RouterOutput forward(Tensor tokens) => FromLogits(tokens, Score(tokens), _topK, _normalize, _groups);

    /// <param name="tokens">[tokens, hidden]</param>
    /// <param name="allowed">[tokens, experts] experts each token may use, or null for all</param>
    public RouterOutput Forward(Tensor tokens, Tensor? allowed)
    {
        var logits = Score(tokens);
        if (allowed is not null) logits = logits.masked_fill(allowed.logical_not(), Scalars.NegativeInfinity);
        return FromLogits(tokens, logits, _topK, _normalize, _groups);
    }

    /// <summary>The linear gate's weight [experts, hidden] (the pre-trained router).</summary>
    public TorchSharp.Modules.Parameter Weight => _gate.weight!;

    public static RouterOutput FromLogits(Tensor inputs, Tensor logits, int topK, bool normalize, RouterGroups? groups = null)
    {
        var probabilities = logits.softmax(-1);
        var eligible = groups is { Limits: true } g ? KeepBestGroups(probabilities, g) : probabilities;
        var (weights, indices) = eligible.topk(topK, dim: -1);
        if (normalize) weights = weights / weights.sum(-1, keepdim: true);
        return new RouterOutput(inputs, logits, probabilities, indices, weights);
    }

    /// <summary>[tokens, experts] probabilities with those outside each token's <see cref="RouterGroups.Kept"/> best groups (by their best expert) zeroed.</summary>
    public static Tensor KeepBestGroups(Tensor probabilities, RouterGroups groups)
    {
        long tokens = probabilities.shape[0], experts = probabilities.shape[1];
        var grouped = probabilities.view(tokens, groups.Count, experts / groups.Count);
        var kept = grouped.amax([-1L]).topk(groups.Kept, dim: -1).indexes; // [tokens, kept]
        var mask = zeros(tokens, groups.Count, dtype: probabilities.dtype, device: probabilities.device).scatter(1, kept, ones_like(kept, dtype: probabilities.dtype));
        return grouped.mul(mask.unsqueeze(-1)).view(tokens, experts);
    }
}
