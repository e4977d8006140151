using DesMoe.Formats.Config;
using DesMoe.Formats.Architectures;
using DesMoe.Formats.Hub;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Safetensors;

namespace DesMoe.Torch.Inspection;

/// <summary>
/// Describes a hub folder without loading its weights: the config gives the layer plan, the safetensors headers
/// give sizes and dtypes, so inspecting a 200 GB checkpoint reads a few megabytes.
/// </summary>
public static class ModelInspector
{
    /// <summary>What adaptation leaves beside a hub checkpoint (the Trainer's names are spelled here: Core cannot see it).</summary>
    private static readonly string[] DesMoeSideFiles =
    [
        HubModelFolder.SideConfigFileName, HubModelFolder.RouterWeightsFileName, HubModelFolder.ExpertCopiesFileName, "expert_domain_masks.json",
        DesMoe.Formats.Experts.ExpertAssignment.FileName, "specificity_matrix.json",
    ];

    public static ModelReport Inspect(string folder)
    {
        var hub = HubFolder.Open(folder);
        var config = hub.ReadModelConfig();
        var checkpoint = hub.OpenWeights();
        var tensors = checkpoint.Tensors.ToList();
        long total = tensors.Sum(t => t.ElementCount);
        long inactive = 0;
        foreach (var layer in config.Layers.Where(l => l.IsMoe))
        {
            var prefix = layer.RoutedExpertPrefix(0);
            long oneExpert = tensors.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)).Sum(t => t.ElementCount);
            inactive += (layer.RoutedExperts - layer.TopK) * oneExpert;
        }
        var tokenizer = hub.TokenizerPath is { } path ? HubTokenizer.Load(path) : null;
        string? notTrainable = null;
        int routerWidth = 0;
        IReadOnlyList<string> fields = [];
        try
        {
            var trainable = HubModelFolder.ReadConfig(folder);
            routerWidth = trainable.AdaptiveRouterWidth;
            fields = MoeConfigDescription.Lines(trainable).ToList();
        }
        catch (HubModelException e)
        {
            notTrainable = e.Message;
        }
        return new ModelReport(
            folder,
            config.ModelType,
            hub.Config.StringList("architectures"),
            config.Layers,
            total,
            total - inactive,
            tensors.GroupBy(t => t.DType).ToDictionary(g => g.Key, g => g.Count()),
            checkpoint.Files.Count,
            tokenizer?.Kind,
            tokenizer?.VocabSize,
            config.VocabSize,
            hub.ReadGenerationConfig().EosTokenIds,
            notTrainable,
            routerWidth,
            DesMoeSideFiles.Where(name => File.Exists(Path.Combine(folder, name))).ToList())
        {
            TrainableFields = fields,
        };
    }
}
