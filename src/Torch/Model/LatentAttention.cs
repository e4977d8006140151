using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Torch.Model;

/// <summary>
/// DeepSeek-V2's multi-head latent attention, trainable. Keys and values come from one low-rank latent:
/// <c>kv_a_proj_with_mqa</c> maps x to [kv_lora_rank latent | qk_rope_head_dim rope key], the latent is
/// RMS-normalised (<c>kv_a_layernorm</c>) and <c>kv_b_proj</c> expands it to per-head [k_nope | v]; the rope key is
/// one head shared by all. Queries come from <c>q_proj</c>, or with q_lora_rank from q_a_proj -> q_a_layernorm ->
/// q_b_proj; each query head is [q_nope | q_rope].
/// </summary>
/// <remarks>
/// The cache holds the normalised latent as the key [batch, 1, seq, kv_lora_rank] and the rotated rope key as the
/// value [batch, 1, seq, qk_rope_head_dim] (<see cref="MoeConfig.CacheHeads"/>); the exported graph caches the same
/// two tensors and attends in the absorbed form (kv_b_proj folded into the query and the output), which is why
/// training, reference checks and serving agree on one layout.
/// </remarks>
public sealed class LatentAttention : nn.Module, ISelfAttention
{
    [ComponentName(Name = TensorNames.QProj)] private readonly Linear? _q;
    [ComponentName(Name = TensorNames.QAProj)] private readonly Linear? _qA;
    [ComponentName(Name = TensorNames.QALayerNorm)] private readonly RmsNorm? _qANorm;
    [ComponentName(Name = TensorNames.QBProj)] private readonly Linear? _qB;
    [ComponentName(Name = TensorNames.KvAProjWithMqa)] private readonly Linear _kvA;
    [ComponentName(Name = TensorNames.KvALayerNorm)] private readonly RmsNorm _kvANorm;
    [ComponentName(Name = TensorNames.KvBProj)] private readonly Linear _kvB;
    [ComponentName(Name = TensorNames.OProj)] private readonly Linear _o;
    private readonly int _heads, _nope, _rope, _v, _latent;
    /// <summary>Plain indices, not a tensor field: a tensor field would be registered as a buffer and saved with the weights.</summary>
    private readonly long[]? _deinterleave;
    /// <summary>A field, so the Scalar outlives every native call it is passed to.</summary>
    private readonly Scalar _scale;

    /// <summary>DeepSeek's reference and transformers build the two latent norms with their default epsilon, not rms_norm_eps.</summary>
    public const double LatentNormEpsilon = 1e-6;

    public LatentAttention(MoeConfig config, ScalarType weights = ScalarType.Float32) : base(nameof(LatentAttention))
    {
        _heads = config.NumHeads;
        _nope = config.QkNopeHeadDim;
        _rope = config.QkRopeHeadDim;
        _v = config.VHeadDim;
        _latent = config.KvLoraRank;
        int hidden = config.HiddenSize, queryWidth = _heads * config.QueryHeadDim;
        if (config.QLoraRank > 0)
        {
            _qA = nn.Linear(hidden, config.QLoraRank, hasBias: config.AttentionBias, dtype: weights);
            _qANorm = new RmsNorm(config.QLoraRank, LatentNormEpsilon);
            _qB = nn.Linear(config.QLoraRank, queryWidth, hasBias: false, dtype: weights);
        }
        else _q = nn.Linear(hidden, queryWidth, hasBias: false, dtype: weights);
        _kvA = nn.Linear(hidden, _latent + _rope, hasBias: config.AttentionBias, dtype: weights);
        _kvANorm = new RmsNorm(_latent, LatentNormEpsilon);
        _kvB = nn.Linear(_latent, _heads * (_nope + _v), hasBias: false, dtype: weights);
        _o = nn.Linear(_heads * _v, hidden, hasBias: config.AttentionBias, dtype: weights); // DeepSeek's attention_bias: q_a_proj, kv_a_proj_with_mqa, o_proj
        _scale = config.AttentionScale.ToScalar();
        if (config.RopeInterleaved) _deinterleave = RotaryEmbedding.Deinterleave(_rope);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor additiveMask, KvCache? cache, int layer)
    {
        long batch = x.shape[0], seq = x.shape[1];
        var query = (_q is not null ? _q.Apply(x) : _qB!.Apply(_qANorm!.forward(_qA!.Apply(x))))
            .view(batch, seq, _heads, _nope + _rope).transpose(1, 2); // [b, h, s, nope + rope]
        var qNope = query.narrow(-1, 0, _nope);
        var qRope = query.narrow(-1, _nope, _rope);

        var compressed = _kvA.Apply(x); // [b, s, latent + rope]
        var latent = _kvANorm.forward(compressed.narrow(-1, 0, _latent)).unsqueeze(1); // [b, 1, s, latent]
        var kRope = compressed.narrow(-1, _latent, _rope).unsqueeze(1); // [b, 1, s, rope]
        if (_deinterleave is not null)
        {
            var order = tensor(_deinterleave, device: x.device);
            qRope = qRope.index_select(-1, order);
            kRope = kRope.index_select(-1, order);
        }
        qRope = RotaryEmbedding.Apply(qRope, cos, sin);
        kRope = RotaryEmbedding.Apply(kRope, cos, sin);

        if (cache is not null) (latent, kRope) = cache.Append(layer, latent, kRope); // the latent is the "key", the rope key the "value"

        long total = latent.shape[2];
        var expanded = _kvB.Apply(latent.squeeze(1)).view(batch, total, _heads, _nope + _v).transpose(1, 2); // [b, h, t, nope + v]
        var key = cat([expanded.narrow(-1, 0, _nope), kRope.expand(batch, _heads, total, _rope)], dim: -1);
        var value = expanded.narrow(-1, _nope, _v);
        var scores = matmul(cat([qNope, qRope], dim: -1), key.transpose(2, 3)).mul(_scale).add(additiveMask, Scalars.One);
        var context = matmul(scores.softmax(-1), value); // [b, h, s, v]
        return _o.Apply(context.transpose(1, 2).reshape(batch, seq, _heads * _v));
    }
}
