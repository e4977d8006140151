using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Torch.Model;

/// <summary>
/// Pre-norm transformer block: x + attn(norm(x)), then h + ffn(norm(h)). The feed-forward is a MoE block, or in
/// the dense prefix some architectures have (DeepSeek-V2's <c>first_k_dense_replace</c>) one SwiGLU of
/// <see cref="MoeConfig.DenseHiddenSize"/>.
/// </summary>
public sealed class DecoderLayer : nn.Module
{
    [ComponentName(Name = TensorNames.InputLayerNorm)] private readonly RmsNorm _inputNorm;
    [ComponentName(Name = TensorNames.SelfAttn)] private readonly nn.Module _attention;
    [ComponentName(Name = TensorNames.PostAttentionLayerNorm)] private readonly RmsNorm _postAttentionNorm;
    [ComponentName(Name = TensorNames.Mlp)] private readonly MoeFeedForward? _moe;
    [ComponentName(Name = TensorNames.Mlp)] private readonly SwiGluExpert? _dense;

    /// <param name="weights">the dtype attention and the feed-forward weights are held in (<see cref="StoredWeights"/>)</param>
    public DecoderLayer(MoeConfig config, bool dense = false, ScalarType weights = ScalarType.Float32) : base(nameof(DecoderLayer))
    {
        _inputNorm = new RmsNorm(config.HiddenSize, config.RmsNormEpsilon);
        _attention = config.LatentAttention ? new LatentAttention(config, weights) : new Attention(config, weights);
        _postAttentionNorm = new RmsNorm(config.HiddenSize, config.RmsNormEpsilon);
        if (dense) _dense = new SwiGluExpert(config.HiddenSize, config.DenseHiddenSize, weights);
        else _moe = new MoeFeedForward(config, weights);
        RegisterComponents();
    }

    public MoeFeedForward Moe => _moe ?? throw new InvalidOperationException("a dense layer has no MoE block");

    /// <returns>the new hidden state and, for a MoE layer, its routing (null for a dense one)</returns>
    public (Tensor Hidden, RouterOutput? Routing) Forward(
        Tensor x, Tensor cos, Tensor sin, Tensor additiveMask, KvCache? cache, int layer, int moeLayer, ExpertGradientMask? gradientMask, Tensor? allowedExperts = null, Tensor? expertSlots = null)
    {
        var attended = ((ISelfAttention)_attention).Forward(_inputNorm.forward(x), cos, sin, additiveMask, cache, layer);
        var h = x.add(attended, Scalars.One);
        var normed = _postAttentionNorm.forward(h);
        if (_dense is not null) return (h.add(_dense.forward(normed), Scalars.One), null);
        var (moeOut, routing) = _moe!.Forward(normed.view(-1, normed.shape[^1]), moeLayer, gradientMask, allowedExperts, expertSlots);
        return (h.add(moeOut.view(h.shape), Scalars.One), routing);
    }
}
