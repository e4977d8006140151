using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DesMoe.Formats.Architectures.DeepseekV2;

namespace DesMoe.Tests.Reference;

/// <summary>
/// DeepSeek-V2's multi-head latent attention. Keys and values come from a shared low-rank latent:
/// <c>kv_a_proj_with_mqa</c> maps x to [kv_lora_rank latent | qk_rope_head_dim rope key], the latent is
/// RMS-normalised (<c>kv_a_layernorm</c>) and <c>kv_b_proj</c> expands it to per-head [k_nope | v]. The rope key is
/// one head shared by all heads. Queries come from <c>q_proj</c>, or with <c>q_lora_rank</c> from
/// <c>q_a_proj</c> → <c>q_a_layernorm</c> → <c>q_b_proj</c>; each query head is [q_nope | q_rope].
/// </summary>
/// <remarks>
/// Cache layout (chosen here): the normalised latent [batch, past, kv_lora_rank] and the rotated rope key
/// [batch, 1, past, qk_rope_head_dim] — what MLA was designed to cache (576 floats per token per layer for
/// V2-Lite instead of 16 heads x (192 + 128) expanded). Each step re-expands the cached latent through kv_b_proj;
/// the expansion is per position, so the result equals the full forward pass.
/// </remarks>
public sealed class MultiHeadLatentAttention : AttentionModule
{
    private readonly Linear? _q, _qA, _qB;
    private readonly RmsNorm? _qANorm;
    private readonly Linear _kvA, _kvB, _o;
    private readonly RmsNorm _kvANorm;
    private readonly RotaryEmbedding _rotary;
    private readonly Scalar _scale;
    private readonly int _heads, _nope, _rope, _v, _latent;

    public MultiHeadLatentAttention(DeepseekV2Config config, RotaryEmbedding rotary) : base(nameof(MultiHeadLatentAttention))
    {
        _heads = config.NumHeads;
        _nope = config.QkNopeHeadDim;
        _rope = config.QkRopeHeadDim;
        _v = config.VHeadDim;
        _latent = config.KvLoraRank;
        _rotary = rotary;
        int hidden = config.HiddenSize, qkHead = config.QkHeadDim;
        if (config.QLoraRank is { } rank)
        {
            _qA = nn.Linear(hidden, rank, hasBias: config.AttentionBias);
            _qANorm = new RmsNorm(rank, 1e-6);
            _qB = nn.Linear(rank, _heads * qkHead, hasBias: false);
            register_module("q_a_proj", _qA);
            register_module("q_a_layernorm", _qANorm);
            register_module("q_b_proj", _qB);
        }
        else
        {
            _q = nn.Linear(hidden, _heads * qkHead, hasBias: false);
            register_module("q_proj", _q);
        }
        _kvA = nn.Linear(hidden, _latent + _rope, hasBias: config.AttentionBias);
        // DeepSeek's reference and transformers build these two norms with their default epsilon (1e-6), not rms_norm_eps.
        _kvANorm = new RmsNorm(_latent, 1e-6);
        _kvB = nn.Linear(_latent, _heads * (_nope + _v), hasBias: false);
        _o = nn.Linear(_heads * _v, hidden, hasBias: config.AttentionBias);
        register_module("kv_a_proj_with_mqa", _kvA);
        register_module("kv_a_layernorm", _kvANorm);
        register_module("kv_b_proj", _kvB);
        register_module("o_proj", _o);
        _scale = config.SoftmaxScale;
    }

    public override Tensor Forward(Tensor x, AttentionContext context, DecoderCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], seq = x.shape[1];
        var q = (_q is not null ? _q.forward(x) : _qB!.forward(_qANorm!.forward(_qA!.forward(x))))
            .view(batch, seq, _heads, _nope + _rope).transpose(1, 2); // [b, h, s, nope + rope]
        var qNope = q.narrow(-1, 0, _nope);
        var qRope = q.narrow(-1, _nope, _rope);

        var compressed = _kvA.forward(x); // [b, s, latent + rope]
        var latent = _kvANorm.forward(compressed.narrow(-1, 0, _latent)); // [b, s, latent]
        var kRope = compressed.narrow(-1, _latent, _rope).unsqueeze(1); // [b, 1, s, rope]

        var tables = context.RotaryFor(_rotary);
        qRope = _rotary.Apply(qRope, tables);
        kRope = _rotary.Apply(kRope, tables);
        if (cache is not null)
        {
            var stored = cache.Append(layer, 1, latent, kRope.transpose(1, 2)); // both [b, past + s, ...]
            latent = stored[0];
            kRope = stored[1].transpose(1, 2);
        }
        long total = latent.shape[1];
        var expanded = _kvB.forward(latent).view(batch, total, _heads, _nope + _v).transpose(1, 2); // [b, h, t, nope + v]
        var kNope = expanded.narrow(-1, 0, _nope);
        var value = expanded.narrow(-1, _nope, _v);

        var query = cat([qNope, qRope], dim: -1);
        var key = cat([kNope, kRope.expand(batch, _heads, total, _rope)], dim: -1);
        var attended = ScaledDotProductAttention.Compute(query, key, value, context.Blocked, _scale); // [b, h, s, v]
        return _o.forward(attended.transpose(1, 2).reshape(batch, seq, _heads * _v)).MoveToOuterDisposeScope();
    }
}
