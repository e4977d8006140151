using DesMoe.Core.Config;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Core.Tensors;

namespace DesMoe.Core.Model;

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then h + moe(norm(h)).</summary>
public sealed class DecoderLayer : nn.Module
{
    [ComponentName(Name = "input_layernorm")] private readonly RmsNorm _inputNorm;
    [ComponentName(Name = "self_attn")] private readonly Attention _attention;
    [ComponentName(Name = "post_attention_layernorm")] private readonly RmsNorm _postAttentionNorm;
    [ComponentName(Name = "mlp")] private readonly MoeFeedForward _moe;

    public DecoderLayer(MoeConfig config) : base(nameof(DecoderLayer))
    {
        _inputNorm = new RmsNorm(config.HiddenSize, config.RmsNormEpsilon);
        _attention = new Attention(config);
        _postAttentionNorm = new RmsNorm(config.HiddenSize, config.RmsNormEpsilon);
        _moe = new MoeFeedForward(config);
        RegisterComponents();
    }

    public MoeFeedForward Moe => _moe;

    public (Tensor Hidden, RouterOutput Routing) Forward(
        Tensor x, Tensor cos, Tensor sin, Tensor additiveMask, KvCache? cache, int layer, ExpertOutputFilter? filter, Tensor? allowedExperts = null)
    {
        var h = x.add(_attention.Forward(_inputNorm.forward(x), cos, sin, additiveMask, cache, layer), Scalars.One);
        var normed = _postAttentionNorm.forward(h);
        var (moeOut, routing) = _moe.Forward(normed.view(-1, normed.shape[^1]), layer, filter, allowedExperts);
        return (h.add(moeOut.view(h.shape), Scalars.One), routing);
    }
}
