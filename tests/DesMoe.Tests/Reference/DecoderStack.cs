using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DesMoe.Tests.Reference;

/// <summary>The <c>model.</c> part of a causal LM checkpoint: <c>embed_tokens</c>, <c>layers.{i}</c>, <c>norm</c>.</summary>
public sealed class DecoderStack : nn.Module
{
    private readonly Embedding _embed;
    private readonly ModuleList<DecoderLayer> _layers;
    private readonly RmsNorm _norm;

    public DecoderStack(long vocab, long hidden, double epsilon, IReadOnlyList<DecoderLayer> layers) : base(nameof(DecoderStack))
    {
        _embed = nn.Embedding(vocab, hidden);
        _layers = nn.ModuleList(layers.ToArray());
        _norm = new RmsNorm(hidden, epsilon);
        register_module("embed_tokens", _embed);
        register_module("layers", _layers);
        register_module("norm", _norm);
    }

    public Embedding Embedding => _embed;

    public IReadOnlyList<DecoderLayer> Layers => _layers.ToList();

    /// <returns>final hidden states [batch, seq, hidden]</returns>
    public Tensor Forward(Tensor inputIds, AttentionContext context, DecoderCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = _embed.forward(inputIds);
        foreach (var layer in _layers) h = layer.Forward(h, context, cache);
        return _norm.forward(h).MoveToOuterDisposeScope();
    }
}
