namespace DesMoe.Onnx;

/// <summary>Input and output names of the exported decoder graph, shared by the exporter and every ONNX Runtime caller.</summary>
public static class OnnxNames
{
    public const string ModelFileName = "model.onnx";

    /// <summary>The weights of a model exported with ONNX external data, beside <see cref="ModelFileName"/>.</summary>
    public const string ExternalDataFileName = "model.onnx.data";

    /// <summary>[batch, sequence] int64 token ids.</summary>
    public const string InputIds = "input_ids";

    /// <summary>[batch, past + sequence] int64, 1 for real tokens and 0 for padding.</summary>
    public const string AttentionMask = "attention_mask";

    /// <summary>[batch, sequence] int64 rotary positions.</summary>
    public const string PositionIds = "position_ids";

    /// <summary>[batch] int64 domain of each sequence, or <see cref="ExpertAssignment.NoDomain"/> (-1); defaults to [-1] when not fed.</summary>
    public const string DomainIds = "domain_ids";

    /// <summary>[batch, sequence, vocab] float32.</summary>
    public const string Logits = "logits";

    /// <summary>
    /// [batch, sequence, <see cref="TopTokenCount"/>] int64: the likeliest tokens after each position, best first,
    /// lower id first among equal logits. Exports from before 2026-12-07 lack it.
    /// </summary>
    public const string TopTokens = "top_tokens";

    public const int TopTokenCount = 2;

    /// <summary>[batch, kv_heads, past, head_dim] float32.</summary>
    public static string PastKey(int layer) => $"past_key_values.{layer}.key";
    public static string PastValue(int layer) => $"past_key_values.{layer}.value";

    /// <summary>[batch * sequence, top_k] int64: the routed experts each token of the step was sent to (after domain routing).</summary>
    public static string RouterExperts(int layer) => $"router.{layer}.experts";

    /// <summary>[batch, kv_heads, past + sequence, head_dim] float32.</summary>
    public static string PresentKey(int layer) => $"present.{layer}.key";
    public static string PresentValue(int layer) => $"present.{layer}.value";
}
