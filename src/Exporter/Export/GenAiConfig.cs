using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DesMoe.Formats.Config;
using DesMoe.Onnx;
using DesMoe.Formats.Tokenization;
using DesMoe.Exporter.Onnx.Schema;

namespace DesMoe.Exporter.Export;

/// <summary>
/// <c>genai_config.json</c>, which lets ONNX Runtime GenAI run an exported folder as a decoder-only ("llama") model, so
/// the export can be compared with (and served by) that peer runtime. GenAI feeds exactly input ids, attention mask,
/// position ids and the past keys/values [batch, kv_heads, past, head_dim] named per layer by a printf pattern; it
/// never feeds <see cref="OnnxNames.DomainIds"/>, so it decodes what the graph's default domain id (-1) routes: the
/// no-domain path, as our server does for domain "none". Our graph concatenates past and new keys (present = past +
/// sequence), hence <c>past_present_share_buffer: false</c>. In a batch GenAI treats trailing <c>pad_token_id</c>
/// tokens as padding (masked, logits read at the last real token), so batched prompts must be right-padded.
/// </summary>
public static class GenAiConfig
{
    public const string FileName = "genai_config.json";

    /// <summary>GenAI's plain decoder-only model: it only needs the names and shapes above, not Llama's weights.</summary>
    public const string ModelType = "llama";

    /// <summary>The inputs GenAI's decoder-only model feeds; anything else in the graph must have a default.</summary>
    private static IEnumerable<string> FedInputs(int layers) =>
        new[] { OnnxNames.InputIds, OnnxNames.AttentionMask, OnnxNames.PositionIds }
            .Concat(Enumerable.Range(0, layers).SelectMany(l => new[] { OnnxNames.PastKey(l), OnnxNames.PastValue(l) }));

    private static IEnumerable<string> ReadOutputs(int layers) =>
        new[] { OnnxNames.Logits }
            .Concat(Enumerable.Range(0, layers).SelectMany(l => new[] { OnnxNames.PresentKey(l), OnnxNames.PresentValue(l) }));

    /// <summary>
    /// Why GenAI cannot run <paramref name="graph"/>, or null when it can: an input GenAI would not feed that has no
    /// default initializer (a graph that requires domain ids has no no-domain path for GenAI to take), an input or
    /// output it needs that the graph lacks, or a pad token that is also a token every prompt holds.
    /// </summary>
    public static string? Unsupported(GraphProto graph, MoeConfig config, SpecialTokens special)
    {
        if (config.LatentAttention)
            return "its KV cache is multi-head latent attention's latent and rope key, which ONNX Runtime GenAI's decoder (per-head keys and values of one head_size) cannot hold";
        var inputs = graph.Input.Select(i => i.Name).ToHashSet();
        var defaults = graph.Initializer.Select(i => i.Name).ToHashSet();
        var outputs = graph.Output.Select(o => o.Name).ToHashSet();
        var fed = FedInputs(config.NumLayers).ToList();
        if (fed.FirstOrDefault(n => !inputs.Contains(n)) is { } missingInput)
            return $"the graph has no input '{missingInput}', which ONNX Runtime GenAI feeds";
        if (ReadOutputs(config.NumLayers).FirstOrDefault(n => !outputs.Contains(n)) is { } missingOutput)
            return $"the graph has no output '{missingOutput}', which ONNX Runtime GenAI reads";
        var required = inputs.Where(n => !fed.Contains(n) && !defaults.Contains(n)).Order(StringComparer.Ordinal).ToList();
        if (required.Count > 0)
            return $"the graph requires input{(required.Count > 1 ? "s" : "")} [{string.Join(", ", required)}] with no default, which ONNX Runtime GenAI cannot feed " +
                   $"(it feeds only {OnnxNames.InputIds}, {OnnxNames.AttentionMask}, {OnnxNames.PositionIds} and the past keys and values)";
        if (special.Pad == special.Begin || special.Pad == special.Separator)
            return $"the pad token id {special.Pad} is also the begin ({special.Begin}) or separator ({special.Separator}) token of every prompt, " +
                   "which ONNX Runtime GenAI would mask as padding in a batch";
        return null;
    }

    public static string ToJson(MoeConfig config, SpecialTokens special)
    {
        var root = new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["type"] = ModelType,
                ["vocab_size"] = config.VocabSize,
                ["context_length"] = config.MaxPositions,
                ["bos_token_id"] = special.Begin,
                ["eos_token_id"] = special.End,
                ["pad_token_id"] = special.Pad,
                ["decoder"] = new JsonObject
                {
                    // ONNX Runtime warns about domain_ids (an input with a default initializer) on every load; errors only, as OnnxSessionFactory does.
                    ["session_options"] = new JsonObject { ["log_id"] = "onnxruntime-genai", ["log_severity_level"] = 3 },
                    ["filename"] = OnnxNames.ModelFileName,
                    ["hidden_size"] = config.HiddenSize,
                    ["head_size"] = config.HeadDim,
                    ["num_attention_heads"] = config.NumHeads,
                    ["num_key_value_heads"] = config.NumKvHeads,
                    ["num_hidden_layers"] = config.NumLayers,
                    ["inputs"] = new JsonObject
                    {
                        ["input_ids"] = OnnxNames.InputIds,
                        ["attention_mask"] = OnnxNames.AttentionMask,
                        ["position_ids"] = OnnxNames.PositionIds,
                        ["past_key_names"] = LayerPattern(OnnxNames.PastKey),
                        ["past_value_names"] = LayerPattern(OnnxNames.PastValue),
                    },
                    ["outputs"] = new JsonObject
                    {
                        ["logits"] = OnnxNames.Logits,
                        ["present_key_names"] = LayerPattern(OnnxNames.PresentKey),
                        ["present_value_names"] = LayerPattern(OnnxNames.PresentValue),
                    },
                },
            },
            ["search"] = new JsonObject
            {
                // Greedy by default, as the server's temperature 0; callers may still set other options per generator.
                ["do_sample"] = false,
                ["num_beams"] = 1,
                ["top_k"] = 1,
                ["top_p"] = 1.0,
                ["temperature"] = 1.0,
                ["repetition_penalty"] = 1.0,
                ["min_length"] = 0,
                ["max_length"] = config.MaxPositions,
                ["past_present_share_buffer"] = false,
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// The printf pattern GenAI expands per layer ("past_key_values.%d.key"), read off <paramref name="name"/> itself so
    /// it cannot drift from the graph; throws if the names do not differ only by the layer number.
    /// </summary>
    public static string LayerPattern(Func<int, string> name)
    {
        const int probe = 7919;
        var pattern = name(probe).Replace(probe.ToString(CultureInfo.InvariantCulture), "%d", StringComparison.Ordinal);
        foreach (int layer in new[] { 0, 1, 10 })
            if (name(layer) != pattern.Replace("%d", layer.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
                throw new InvalidOperationException($"layer name '{name(layer)}' does not follow one pattern '{pattern}', which {FileName} needs");
        return pattern;
    }
}
