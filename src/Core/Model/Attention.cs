using DesMoe.Core.Config;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Core.Tensors;

namespace DesMoe.Core.Model;

/// <summary>Causal multi-head attention with grouped-query key/value heads and rotary positions.</summary>
public sealed class Attention : nn.Module
{
    [ComponentName(Name = "q_proj")] private readonly Linear _q;
    [ComponentName(Name = "k_proj")] private readonly Linear _k;
    [ComponentName(Name = "v_proj")] private readonly Linear _v;
    [ComponentName(Name = "o_proj")] private readonly Linear _o;
    private readonly int _heads, _kvHeads, _headDim;
    /// <summary>sqrt(head_dim), held as a field so the Scalar outlives every native call it is passed to.</summary>
    private readonly Scalar _scoreScale;

    public Attention(MoeConfig config) : base(nameof(Attention))
    {
        _heads = config.NumHeads;
        _kvHeads = config.NumKvHeads;
        _headDim = config.HeadDim;
        _scoreScale = Math.Sqrt(_headDim).ToScalar();
        _q = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: false);
        _k = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: false);
        _v = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: false);
        _o = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: false);
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
        var q = _q.forward(x).view(batch, seq, _heads, _headDim).transpose(1, 2);
        var k = _k.forward(x).view(batch, seq, _kvHeads, _headDim).transpose(1, 2);
        var v = _v.forward(x).view(batch, seq, _kvHeads, _headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);

        if (cache is not null)
        {
            if (cache.Get(layer) is { } past)
            {
                k = cat([past.Key, k], dim: 2);
                v = cat([past.Value, v], dim: 2);
            }
            cache.Set(layer, k, v);
        }

        int groups = _heads / _kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1);
            v = v.repeat_interleave(groups, dim: 1);
        }

        var scores = (matmul(q, k.transpose(2, 3)) / _scoreScale).add(additiveMask, Scalars.One);
        var context = matmul(scores.softmax(-1), v);
        return _o.forward(context.transpose(1, 2).reshape(batch, seq, _heads * _headDim));
    }
}
