using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DesMoe.Formats.Architectures.Common;

namespace DesMoe.Tests.Reference;

/// <summary>
/// Causal multi-head attention with grouped key/value heads and rotary positions (Qwen2-MoE, Qwen3-MoE, OLMoE,
/// Mixtral). Parameters: <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c> and, with q/k norm,
/// <c>q_norm</c>/<c>k_norm</c>. Cache layout per layer: key and value, [batch, kvHeads, past, headDim], keys rotated.
/// </summary>
public sealed class GroupedQueryAttention : AttentionModule
{
    private readonly Linear _q, _k, _v, _o;
    private readonly RmsNorm? _qNorm, _kNorm;
    private readonly AttentionShape _shape;
    private readonly RotaryEmbedding _rotary;
    private readonly Scalar _scale;
    private readonly Scalar? _clipLow, _clipHigh;

    public GroupedQueryAttention(AttentionShape shape, RotaryEmbedding rotary) : base(nameof(GroupedQueryAttention))
    {
        if (shape.Heads % shape.KvHeads != 0)
            throw new ArgumentException($"{shape.Heads} attention heads are not a multiple of {shape.KvHeads} key/value heads", nameof(shape));
        _shape = shape;
        _rotary = rotary;
        _q = nn.Linear(shape.Hidden, shape.Heads * shape.HeadDim, hasBias: shape.QkvBias);
        _k = nn.Linear(shape.Hidden, shape.KvHeads * shape.HeadDim, hasBias: shape.QkvBias);
        _v = nn.Linear(shape.Hidden, shape.KvHeads * shape.HeadDim, hasBias: shape.QkvBias);
        _o = nn.Linear(shape.Heads * shape.HeadDim, shape.Hidden, hasBias: shape.OutputBias);
        register_module("q_proj", _q);
        register_module("k_proj", _k);
        register_module("v_proj", _v);
        register_module("o_proj", _o);
        if (shape.Norm != QkNorm.None)
        {
            bool perHead = shape.Norm == QkNorm.PerHead;
            _qNorm = new RmsNorm(perHead ? shape.HeadDim : shape.Heads * shape.HeadDim, shape.NormEpsilon);
            _kNorm = new RmsNorm(perHead ? shape.HeadDim : shape.KvHeads * shape.HeadDim, shape.NormEpsilon);
            register_module("q_norm", _qNorm);
            register_module("k_norm", _kNorm);
        }
        if (shape.ClipQkv is { } clip)
        {
            _clipLow = -clip;
            _clipHigh = clip;
        }
        _scale = 1.0 / Math.Sqrt(shape.HeadDim);
    }

    public override Tensor Forward(Tensor x, AttentionContext context, DecoderCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], seq = x.shape[1];
        Tensor q = _q.forward(x), k = _k.forward(x), v = _v.forward(x); // [b, s, heads*d] / [b, s, kv*d]
        if (_shape.Norm == QkNorm.WholeProjection)
        {
            q = _qNorm!.forward(q);
            k = _kNorm!.forward(k);
        }
        if (_clipLow is not null)
        {
            q = q.clamp(_clipLow, _clipHigh!);
            k = k.clamp(_clipLow, _clipHigh!);
            v = v.clamp(_clipLow, _clipHigh!);
        }
        q = q.view(batch, seq, _shape.Heads, _shape.HeadDim);
        k = k.view(batch, seq, _shape.KvHeads, _shape.HeadDim);
        v = v.view(batch, seq, _shape.KvHeads, _shape.HeadDim);
        if (_shape.Norm == QkNorm.PerHead)
        {
            q = _qNorm!.forward(q);
            k = _kNorm!.forward(k);
        }
        q = q.transpose(1, 2); // [b, heads, s, d]
        k = k.transpose(1, 2); // [b, kv, s, d]
        v = v.transpose(1, 2);

        var tables = context.RotaryFor(_rotary);
        q = _rotary.Apply(q, tables);
        k = _rotary.Apply(k, tables);
        if (cache is not null)
        {
            var stored = cache.Append(layer, 2, k, v);
            (k, v) = (stored[0], stored[1]);
        }

        int groups = _shape.Heads / _shape.KvHeads;
        var attended = ScaledDotProductAttention.Compute(q, ScaledDotProductAttention.RepeatKv(k, groups),
            ScaledDotProductAttention.RepeatKv(v, groups), context.Blocked, _scale);
        var merged = attended.transpose(1, 2).reshape(batch, seq, _shape.Heads * _shape.HeadDim);
        return _o.forward(merged).MoveToOuterDisposeScope();
    }
}
