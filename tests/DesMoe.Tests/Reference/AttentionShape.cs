using DesMoe.Formats.Architectures.Common;
namespace DesMoe.Tests.Reference;

/// <summary>The shape and options of standard (grouped-query) attention.</summary>
/// <param name="Hidden">model width</param>
/// <param name="Heads">query heads</param>
/// <param name="KvHeads">key/value heads; <paramref name="Heads"/> must be a multiple</param>
/// <param name="HeadDim">per-head width (need not be Hidden / Heads)</param>
/// <param name="QkvBias">q/k/v projections have biases (Qwen2-MoE)</param>
/// <param name="OutputBias">o_proj has a bias</param>
/// <param name="Norm">q/k normalisation</param>
/// <param name="NormEpsilon">epsilon of the q/k RMSNorms</param>
/// <param name="ClipQkv">when set, q, k and v are clamped to [-ClipQkv, ClipQkv] after projection (and q/k norm) — OLMoE's <c>clip_qkv</c></param>
public sealed record AttentionShape(int Hidden, int Heads, int KvHeads, int HeadDim, bool QkvBias = false, bool OutputBias = false,
    QkNorm Norm = QkNorm.None, double NormEpsilon = 1e-6, double? ClipQkv = null);
