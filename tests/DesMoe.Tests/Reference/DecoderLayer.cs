using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Tests.Reference;

/// <summary>
/// Pre-norm residual block shared by all five architectures:
/// <c>h = x + self_attn(input_layernorm(x)); out = h + ffn(post_attention_layernorm(h))</c>.
/// The feed-forward is registered under the architecture's name for it (<c>mlp</c>, or Mixtral's <c>block_sparse_moe</c>).
/// </summary>
public sealed class DecoderLayer : nn.Module
{
    private readonly RmsNorm _inputNorm, _postAttentionNorm;
    private readonly AttentionModule _attention;
    private readonly nn.Module<Tensor, Tensor> _feedForward;

    public DecoderLayer(int index, long hidden, double epsilon, AttentionModule attention, string feedForwardName, nn.Module<Tensor, Tensor> feedForward)
        : base(nameof(DecoderLayer))
    {
        Index = index;
        _inputNorm = new RmsNorm(hidden, epsilon);
        _postAttentionNorm = new RmsNorm(hidden, epsilon);
        _attention = attention;
        _feedForward = feedForward;
        register_module("input_layernorm", _inputNorm);
        register_module("self_attn", _attention);
        register_module("post_attention_layernorm", _postAttentionNorm);
        register_module(feedForwardName, _feedForward);
    }

    public int Index { get; }

    public nn.Module<Tensor, Tensor> FeedForward => _feedForward;

    /// <param name="x">[batch, seq, hidden]</param>
    public Tensor Forward(Tensor x, AttentionContext context, DecoderCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x.add(_attention.Forward(_inputNorm.forward(x), context, cache, Index), Scalars.One);
        return h.add(_feedForward.forward(_postAttentionNorm.forward(h)), Scalars.One).MoveToOuterDisposeScope();
    }
}
