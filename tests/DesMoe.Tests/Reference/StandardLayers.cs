using DesMoe.Formats.Hub;
using DesMoe.Formats.Architectures.Common;

namespace DesMoe.Tests.Reference;

/// <summary>Assembles the decoder layers of the four architectures that use <see cref="GroupedQueryAttention"/>.</summary>
public static class StandardLayers
{
    /// <param name="feedForwardName">the feed-forward's name inside a layer (<c>mlp</c> or <c>block_sparse_moe</c>)</param>
    /// <param name="feedForward">builds layer i's feed-forward module</param>
    public static CausalLanguageModel Build(HubModelConfig config, AttentionShape attention, string feedForwardName,
        Func<int, TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>> feedForward)
    {
        var rotary = config.Common.CreateRotary(attention.HeadDim, RotaryLayout.RotateHalf);
        var layers = Enumerable.Range(0, config.NumLayers)
            .Select(i => new DecoderLayer(i, config.HiddenSize, config.RmsNormEps, new GroupedQueryAttention(attention, rotary), feedForwardName, feedForward(i)))
            .ToList();
        return new CausalLanguageModel(config, layers);
    }

    public static string LayerPrefix(int layer, string feedForwardName) => $"model.layers.{layer}.{feedForwardName}";
}
