using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Onnx;

/// <summary>
/// Every tensor of one decode step, in caller-owned memory: inputs ids and positions [batch, 1], mask
/// [batch, past + 1], domains [batch], past per layer [batch, kv_heads, past, head_dim]; outputs logits
/// [batch, 1, vocab], present per layer [batch, kv_heads, past + 1, head_dim], when the model reports them the
/// routed experts per layer [batch, top_k], and the top tokens [batch, 1, 2]. ONNX Runtime writes the outputs
/// where the caller reads them. Logits left unbound (null) stay in ONNX Runtime's own memory, on the device under
/// CUDA: a step whose rows all pick greedily reads only the top tokens.
/// </summary>
public sealed record OnnxBoundStep(
    OrtValue InputIds,
    OrtValue AttentionMask,
    OrtValue PositionIds,
    OrtValue DomainIds,
    IReadOnlyList<OrtValue> PastKeys,
    IReadOnlyList<OrtValue> PastValues,
    OrtValue? Logits,
    IReadOnlyList<OrtValue> PresentKeys,
    IReadOnlyList<OrtValue> PresentValues,
    IReadOnlyList<OrtValue> RouterExperts,
    OrtValue? TopTokens = null);
