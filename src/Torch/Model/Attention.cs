using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Torch.Model;

/// <summary>
/// Causal multi-head attention with grouped-query key/value heads and rotary positions; optionally q/k/v and o_proj
/// biases, q/k RMSNorm (<see cref="QkNormalization"/>) and OLMoE's clip_qkv, which the Qwen and OLMoE hub
/// architectures need.
/// </summary>
public sealed class Attention : nn.Module, ISelfAttention
{
    [ComponentName(Name = TensorNames.QProj)] private readonly Linear _q;
    [ComponentName(Name = TensorNames.KProj)] private readonly Linear _k;
    [ComponentName(Name = TensorNames.VProj)] private readonly Linear _v;
    [ComponentName(Name = TensorNames.OProj)] private readonly Linear _o;
    [ComponentName(Name = TensorNames.QNorm)] private readonly RmsNorm? _qNorm;
    [ComponentName(Name = TensorNames.KNorm)] private readonly RmsNorm? _kNorm;
    private readonly QkNormalization _qkNorm;
    private readonly int _heads, _kvHeads, _headDim;
    /// <summary>sqrt(head_dim), held as a field so the Scalar outlives every native call it is passed to.</summary>
    private readonly Scalar _scoreScale;
    /// <summary>clip_qkv's bounds, or null; fields for the same reason.</summary>
    private readonly Scalar? _clipLow, _clipHigh;

    public Attention(MoeConfig config, ScalarType weights = ScalarType.Float32) : base(nameof(Attention))
    {
        _heads = config.NumHeads;
        _kvHeads = config.NumKvHeads;
        _headDim = config.HeadDim;
        _scoreScale = Math.Sqrt(_headDim).ToScalar();
        _q = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: config.AttentionBias, dtype: weights);
        _k = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.AttentionBias, dtype: weights);
        _v = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.AttentionBias, dtype: weights);
        _o = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: config.AttentionOutputBias, dtype: weights);
        if (config.ClipQkv is { } clip) (_clipLow, _clipHigh) = ((-clip).ToScalar(), clip.ToScalar());
        _qkNorm = config.QkNorm;
        if (_qkNorm == QkNormalization.PerHead)
        {
            _qNorm = new RmsNorm(_headDim, config.RmsNormEpsilon);
            _kNorm = new RmsNorm(_headDim, config.RmsNormEpsilon);
        }
        else if (_qkNorm == QkNormalization.WholeProjection)
        {
            _qNorm = new RmsNorm(_heads * _headDim, config.RmsNormEpsilon);
            _kNorm = new RmsNorm(_kvHeads * _headDim, config.RmsNormEpsilon);
        }
        RegisterComponents();
    }

    /// <param name="x">[batch, seq, hidden]</param>
    /// <param name="cos">rotary tables for the new positions</param>
    /// <param name="sin">rotary tables for the new positions</param>
    /// <param name="additiveMask">[batch, 1, seq, past+seq]: 0 where attention is allowed, a large negative value elsewhere</param>
    /// <param name="cache">when given, past keys/values are read from and the extended ones written to it</param>
    /// <param name="layer">this layer's index in <paramref name="cache"/></param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor additiveMask, KvCache? cache, int layer)
    {
        long batch = x.shape[0], seq = x.shape[1];
        var q = Heads(_q.Apply(x), _qNorm, batch, seq, _heads);
        var k = Heads(_k.Apply(x), _kNorm, batch, seq, _kvHeads);
        var v = Heads(_v.Apply(x), null, batch, seq, _kvHeads);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);

        if (cache is not null) (k, v) = cache.Append(layer, k, v);

        int groups = _heads / _kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1);
            v = v.repeat_interleave(groups, dim: 1);
        }

        var scores = (matmul(q, k.transpose(2, 3)) / _scoreScale).add(additiveMask, Scalars.One);
        var context = matmul(scores.softmax(-1), v);
        return _o.Apply(context.transpose(1, 2).reshape(batch, seq, _heads * _headDim));
    }

    /// <summary>[batch, seq, n * head_dim] projection -> [batch, n, seq, head_dim], normalised and clipped where the config says.</summary>
    private Tensor Heads(Tensor projection, RmsNorm? norm, long batch, long seq, int n)
    {
        if (norm is not null && _qkNorm == QkNormalization.WholeProjection) projection = norm.forward(projection);
        if (_clipLow is not null) projection = projection.clamp(_clipLow, _clipHigh!);
        var heads = projection.view(batch, seq, n, _headDim);
        if (norm is not null && _qkNorm == QkNormalization.PerHead) heads = norm.forward(heads);
        return heads.transpose(1, 2);
    }
}
