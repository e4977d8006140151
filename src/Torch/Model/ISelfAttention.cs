using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>The attention of a decoder layer: <see cref="Attention"/> (grouped-query) or <see cref="LatentAttention"/> (DeepSeek-V2's MLA).</summary>
public interface ISelfAttention
{
    /// <param name="x">[batch, seq, hidden]</param>
    /// <param name="cos">rotary tables for the new positions, [batch, 1, seq, rotary_dim]</param>
    /// <param name="sin">rotary tables for the new positions</param>
    /// <param name="additiveMask">[batch, 1, seq, past+seq]: 0 where attention is allowed, a large negative value elsewhere</param>
    /// <param name="cache">when given, the layer's past is read from and the extended one written to it</param>
    /// <param name="layer">this layer's index in <paramref name="cache"/></param>
    Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor additiveMask, KvCache? cache, int layer);
}
