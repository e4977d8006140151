using DesMoe.Formats.Hub;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DesMoe.Tests.Reference;

/// <summary>
/// A decoder-only LM whose parameter names are the hub checkpoint's tensor names (<c>model.embed_tokens.weight</c>,
/// <c>model.layers.{i}.…</c>, <c>model.norm.weight</c>, <c>lm_head.weight</c>; no <c>lm_head</c> when the
/// embeddings are tied). Parameters are float32 (see <see cref="HubModelLoader"/>).
/// </summary>
public sealed class CausalLanguageModel : nn.Module
{
    private readonly DecoderStack _model;
    private readonly Linear? _lmHead;

    public CausalLanguageModel(HubModelConfig config, IReadOnlyList<DecoderLayer> layers) : base(nameof(CausalLanguageModel))
    {
        Config = config;
        _model = new DecoderStack(config.VocabSize, config.HiddenSize, config.RmsNormEps, layers);
        register_module("model", _model);
        if (!config.TieWordEmbeddings)
        {
            _lmHead = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
            register_module("lm_head", _lmHead);
        }
    }

    public HubModelConfig Config { get; }

    public IReadOnlyList<DecoderLayer> Layers => _model.Layers;

    public DecoderCache CreateCache() => new(Config.NumLayers);

    /// <summary>Runs the model over <paramref name="inputIds"/>, extending <paramref name="cache"/> when given.</summary>
    /// <param name="inputIds">[batch, seq] int64</param>
    /// <param name="attentionMask">
    /// [batch, seq] (the new tokens only; earlier ones come from the cache) or, transformers' convention,
    /// [batch, past + seq]; 1 for real tokens, 0 for (left) padding. Null means all real.
    /// </param>
    /// <param name="positionIds">
    /// [batch, seq] rotary positions. Null: counted from each row's first real token (what transformers' generate
    /// passes; equals 0..seq-1 without padding).
    /// </param>
    /// <returns>logits [batch, seq, vocab], float32</returns>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, DecoderCache? cache = null)
    {
        using var scope = NewDisposeScope();
        long batch = inputIds.shape[0], seq = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        var newMask = NewTokenMask(attentionMask, batch, seq, past, inputIds.device);
        var pastMask = past > 0 ? cache!.KeyMask : null;
        var keyMask = pastMask is null ? newMask : cat([pastMask, newMask], dim: 1);
        var positions = positionIds ?? AttentionMasks.DefaultPositions(newMask, pastMask);
        if (!positions.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException($"position_ids has shape {string.Join("x", positions.shape)}, input_ids {string.Join("x", inputIds.shape)}", nameof(positionIds));

        using var context = new AttentionContext(positions.to(int64), AttentionMasks.CausalAllowed(keyMask, past, seq), past);
        var hidden = _model.Forward(inputIds, context, cache);
        var logits = _lmHead is not null ? _lmHead.forward(hidden) : matmul(hidden, _model.Embedding.weight!.t());
        cache?.SetKeyMask(keyMask.clone()); // a copy: keyMask may be the caller's own mask tensor
        return logits.to(float32).MoveToOuterDisposeScope();
    }

    private static Tensor NewTokenMask(Tensor? attentionMask, long batch, long seq, long past, Device device)
    {
        if (attentionMask is null) return ones(batch, seq, dtype: @bool, device: device);
        if (attentionMask.shape.Length != 2 || attentionMask.shape[0] != batch)
            throw new ArgumentException($"attention_mask has shape {string.Join("x", attentionMask.shape)} for a batch of {batch}", nameof(attentionMask));
        long length = attentionMask.shape[1];
        if (length == seq) return attentionMask.to(@bool);
        if (length == past + seq) return attentionMask.narrow(1, past, seq).to(@bool);
        throw new ArgumentException($"attention_mask covers {length} positions; expected {seq} (new tokens) or {past + seq} (cached + new)", nameof(attentionMask));
    }
}
