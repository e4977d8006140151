using TorchSharp.Modules;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Architectures.Common;

namespace DesMoe.Tests.Reference;

/// <summary>
/// A routed mixture of SwiGLU experts: <c>gate</c> [experts, hidden] router, <c>experts.{e}</c> MLPs, and optional
/// shared experts. Each token's output is sum_k weight_k * expert_k(x) (+ shared(x), gated or not).
/// </summary>
public sealed class SparseMoeBlock : nn.Module<Tensor, Tensor>
{
    private readonly Linear _router;
    private readonly ModuleList<SwiGluMlp> _experts;
    private readonly SwiGluMlp? _shared;
    private readonly Linear? _sharedGate;
    private readonly TopKRouter _routing;

    public SparseMoeBlock(long hidden, int experts, long expertIntermediate, RoutingRule rule, MlpNames expertNames, SharedExperts? shared = null)
        : base(nameof(SparseMoeBlock))
    {
        _router = nn.Linear(hidden, experts, hasBias: false);
        _experts = nn.ModuleList(Enumerable.Range(0, experts).Select(_ => new SwiGluMlp(hidden, expertIntermediate, expertNames)).ToArray());
        _routing = new TopKRouter(rule, experts);
        register_module("gate", _router);
        register_module("experts", _experts);
        if (shared is not null)
        {
            _shared = new SwiGluMlp(hidden, shared.Intermediate, MlpNames.Projections);
            register_module(shared.Name, _shared);
            if (shared.GateName is not null)
            {
                _sharedGate = nn.Linear(hidden, 1, hasBias: false);
                register_module(shared.GateName, _sharedGate);
            }
        }
        Rule = rule;
        ExpertCount = experts;
    }

    public RoutingRule Rule { get; }

    public int ExpertCount { get; }

    public bool HasSharedExperts => _shared is not null;

    /// <param name="x">[batch, seq, hidden]</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        var tokens = x.reshape(-1, shape[^1]); // [n, hidden]
        var (weights, indices) = _routing.Route(_router.forward(tokens)); // [n, k] each

        // Dense [n, experts] views of the choice: which tokens each expert serves, and with what weight.
        var combined = zeros(tokens.shape[0], ExpertCount, dtype: weights.dtype, device: x.device).scatter_add(1, indices, weights);
        var chosen = zeros(tokens.shape[0], ExpertCount, dtype: weights.dtype, device: x.device).scatter(1, indices, ones_like(weights));
        var output = zeros_like(tokens);
        var served = chosen.sum(dim: 0).cpu(); // tokens per expert; skip idle experts without a device sync per expert
        var servedCounts = served.data<float>().ToArray();
        for (int e = 0; e < ExpertCount; e++)
        {
            if (servedCounts[e] == 0) continue;
            var rows = chosen.select(1, e).nonzero().squeeze(-1);
            var expertOut = _experts[e].forward(tokens.index_select(0, rows));
            var rowWeights = combined.select(1, e).index_select(0, rows).unsqueeze(-1).to(expertOut.dtype);
            output.index_add_(0, rows, expertOut * rowWeights, Scalars.One);
        }
        if (_shared is not null)
        {
            var sharedOut = _shared.forward(tokens);
            if (_sharedGate is not null) sharedOut = _sharedGate.forward(tokens).sigmoid() * sharedOut;
            output = output.add(sharedOut, Scalars.One);
        }
        return output.reshape(shape).MoveToOuterDisposeScope();
    }
}
