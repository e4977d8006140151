using DesMoe.Formats.Config;
using DesMoe.Torch.Model;
using static TorchSharp.torch;

namespace DesMoe.Tests.Support;

internal static class TinyModels
{
    public static MoeConfig Config(int experts = 6, int topK = 2, int shared = 1) => new()
    {
        VocabSize = 260,
        HiddenSize = 32,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 2,
        NumRoutedExperts = experts,
        NumSharedExperts = shared,
        TopK = topK,
        ExpertHiddenSize = 16,
        MaxPositions = 64,
    };

    public static MoeTransformer Create(int seed = 1, MoeConfig? config = null)
    {
        manual_seed(seed);
        var model = new MoeTransformer(config ?? Config());
        model.eval();
        return model;
    }
}
