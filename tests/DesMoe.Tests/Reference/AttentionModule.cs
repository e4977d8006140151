using static TorchSharp.torch;

namespace DesMoe.Tests.Reference;

/// <summary>A decoder layer's self-attention (registered as <c>self_attn</c>); each kind owns its cache layout.</summary>
public abstract class AttentionModule(string name) : nn.Module(name)
{
    /// <param name="x">[batch, seq, hidden], already normalised</param>
    /// <param name="cache">when given, read past state from and append this pass's state to layer <paramref name="layer"/></param>
    /// <returns>[batch, seq, hidden]</returns>
    public abstract Tensor Forward(Tensor x, AttentionContext context, DecoderCache? cache, int layer);
}
