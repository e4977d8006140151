using System.Globalization;

namespace DesMoe.Formats.Config;

/// <summary>
/// What the fields of a model's trainable form mean for adaptation and export, one line per concern, as
/// <c>desmoe model inspect</c> prints them: which field set it, and what the trainer and the ONNX graph do with it.
/// </summary>
public static class MoeConfigDescription
{
    public static IEnumerable<string> Lines(MoeConfig c)
    {
        string routing = $"softmax over {c.NumRoutedExperts} routed experts, top-{c.TopK}";
        if (c.GroupLimitedRouting)
            routing += $" from the best {c.RouterGroupsKept} of {c.RouterGroups} groups (n_group, topk_group: other groups' probabilities zeroed before the top-k; the export sets their logits to -inf and rescales)";
        routing += c.NormalizeTopKProbabilities ? ", weights renormalised (norm_topk_prob)" : ", weights not renormalised";
        if (c.RoutedScale != 1.0) routing += $", routed sum x {Number(c.RoutedScale)} (routed_scaling_factor)";
        if (c.NumSharedExperts > 0) routing += $"; {c.NumSharedExperts} shared expert(s){(c.SharedExpertGate ? " behind a sigmoid gate" : "")}, always on";
        yield return ("routing", routing + ". DES-MoE's masks, domain routing and adaptive router act on the logits before the top-k").Line();

        yield return ("layers", c.NumDenseLayers == 0
            ? $"{c.NumLayers}, all MoE"
            : $"{c.NumLayers}: dense SwiGLU (intermediate_size {c.DenseHiddenSize}) at [{string.Join(", ", c.DenseLayerIndices)}] " +
              $"({(c.MlpOnlyLayers is null ? "first_k_dense_replace" : "mlp_only_layers / decoder_sparse_step / moe_layer_freq")}), {c.NumMoeLayers} MoE; routing, masks and " +
              "domain tables count MoE layers only").Line();

        var attention = c.LatentAttention
            ? $"multi-head latent (kv_lora_rank {c.KvLoraRank}{(c.QLoraRank > 0 ? $", q_lora_rank {c.QLoraRank}" : "")}); the export attends over the cached latent (absorbed form)"
            : $"{c.NumHeads} query / {c.NumKvHeads} key-value heads of {c.HeadDim}";
        var extras = new List<string>();
        if (c.AttentionBias) extras.Add(c.LatentAttention ? "biases on q_a_proj, kv_a_proj_with_mqa, o_proj (attention_bias)" : "q/k/v biases (attention_bias / qkv_bias)");
        if (c.AttentionOutputBias) extras.Add("o_proj bias");
        if (c.QkNorm != QkNormalization.None) extras.Add($"q/k RMSNorm {(c.QkNorm == QkNormalization.PerHead ? "per head" : "over the whole projection")}");
        if (c.ClipQkv is { } clip) extras.Add($"q/k/v clamped to ±{Number(clip)} (clip_qkv)");
        yield return ("attention", attention + (extras.Count > 0 ? "; " + string.Join(", ", extras) : "")).Line();

        yield return ("rope", c.RopeScaling is { } scaling
            ? $"theta {Number(c.RopeTheta)}, {scaling.Type} scaling x {Number(scaling.Factor)}{(scaling.Type == Hub.RopeSettings.YarnType ? $" from {scaling.OriginalMaxPositions} positions" : "")}; the export's cos/sin tables hold the scaled frequencies"
            : $"theta {Number(c.RopeTheta)}, no scaling").Line();
        yield return ("embeddings", c.TieWordEmbeddings
            ? "tied (tie_word_embeddings): the embedding also scores the vocabulary; no lm_head is saved back"
            : "separate lm_head").Line();
    }

    private static string Line(this (string Name, string Text) line) => $"  {line.Name,-11} {line.Text}";

    private static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
