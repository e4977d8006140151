using TorchSharp;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Tests.Reference;

/// <summary>Eager attention as transformers computes it for these models: softmax(q k^T * scale, masked) v, in the input dtype.</summary>
public static class ScaledDotProductAttention
{
    /// <summary>What masked attention logits are set to: softmax gives them weight 0, and a fully masked row stays finite (uniform).</summary>
    private static readonly Scalar MaskedLogit = float.MinValue.ToScalar();

    /// <param name="query">[batch, heads, seq, dk]</param>
    /// <param name="key">[batch, heads, past + seq, dk]</param>
    /// <param name="value">[batch, heads, past + seq, dv]</param>
    /// <param name="blocked">[batch, 1, seq, past + seq] bool, true where attention is not allowed</param>
    /// <param name="scale">multiplier of the logits, held by the caller (see <see cref="Scalars"/>)</param>
    /// <returns>[batch, heads, seq, dv]</returns>
    public static Tensor Compute(Tensor query, Tensor key, Tensor value, Tensor blocked, Scalar scale)
    {
        var scores = matmul(query, key.transpose(-2, -1)).mul(scale);
        scores = scores.masked_fill(blocked, MaskedLogit);
        return matmul(scores.softmax(-1), value);
    }

    /// <summary>Repeats each key/value head <paramref name="groups"/> times along dim 1 (head h reads kv head h / groups).</summary>
    public static Tensor RepeatKv(Tensor x, int groups) => groups == 1 ? x : x.repeat_interleave(groups, dim: 1);
}
