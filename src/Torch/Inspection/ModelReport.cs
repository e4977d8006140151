using DesMoe.Formats.Hub;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Torch.Inspection;

/// <summary>What <c>desmoe model inspect</c> prints about a hub folder, computed from its config and tensor headers only.</summary>
/// <param name="TotalParameters">every weight in the checkpoint (tied embeddings counted once)</param>
/// <param name="ActiveParameters">
/// weights one token uses: the total minus, in each MoE layer, the routed experts it does not choose
/// ((routed - top-k) x one expert's size); embeddings and lm_head are counted in full
/// </param>
/// <param name="DTypes">stored dtype → number of tensors</param>
public sealed record ModelReport(
    string Folder,
    string ModelType,
    IReadOnlyList<string> ArchitectureNames,
    IReadOnlyList<FeedForwardPlan> Layers,
    long TotalParameters,
    long ActiveParameters,
    IReadOnlyDictionary<string, int> DTypes,
    int WeightFiles,
    TokenizerKind? TokenizerKind,
    int? TokenizerVocabSize,
    int ConfigVocabSize,
    IReadOnlyList<int> EosTokenIds,
    string? NotTrainableReason,
    int AdaptiveRouterWidth,
    IReadOnlyList<string> DesMoeFiles)
{
    /// <summary>What the config's fields mean for adaptation and export (<see cref="Formats.Config.MoeConfigDescription"/>); empty when the pipeline refuses the folder.</summary>
    public IReadOnlyList<string> TrainableFields { get; init; } = [];

    public int DenseLayers => Layers.Count(l => !l.IsMoe);

    public int MoeLayers => Layers.Count(l => l.IsMoe);

    public IEnumerable<string> Lines()
    {
        yield return $"folder             {Folder}";
        yield return $"model_type         {ModelType}{(ArchitectureNames.Count > 0 ? $" ({string.Join(", ", ArchitectureNames)})" : "")}";
        yield return $"layers             {Layers.Count} ({DenseLayers} dense, {MoeLayers} MoE)";
        foreach (var group in LayerGroups()) yield return $"  {group}";
        yield return $"parameters         {TotalParameters:N0} total, {ActiveParameters:N0} active per token";
        yield return $"dtype              {string.Join(", ", DTypes.OrderByDescending(d => d.Value).Select(d => $"{d.Key} ({d.Value} tensors)"))} in {WeightFiles} file(s)";
        yield return TokenizerKind is { } kind
            ? $"tokenizer          {Describe(kind)}, {TokenizerVocabSize:N0} ids (config vocab_size {ConfigVocabSize:N0})"
            : $"tokenizer          none (no tokenizer.json; config vocab_size {ConfigVocabSize:N0})";
        yield return $"eos ids            {(EosTokenIds.Count > 0 ? string.Join(", ", EosTokenIds) : "none")}";
        yield return $"adapt/export/serve {(NotTrainableReason is null ? "supported" : "not supported: " + NotTrainableReason)}";
        foreach (var field in TrainableFields) yield return field;
        if (DesMoeFiles.Count > 0)
            yield return $"desmoe             {(AdaptiveRouterWidth > 0 ? $"adaptive router (residual width {AdaptiveRouterWidth:N0}); " : "")}{string.Join(", ", DesMoeFiles)}";
    }

    /// <summary>Consecutive layers with the same feed-forward shape, e.g. "layers 1-26: MoE, 64 routed (top-6) + 2 shared".</summary>
    private IEnumerable<string> LayerGroups()
    {
        int start = 0;
        for (int i = 1; i <= Layers.Count; i++)
        {
            if (i < Layers.Count && SameShape(Layers[i], Layers[start])) continue;
            var range = i - 1 == start ? $"layer {start}" : $"layers {start}-{i - 1}";
            var plan = Layers[start];
            yield return plan.IsMoe
                ? $"{range}: MoE, {plan.RoutedExperts} routed experts (top-{plan.TopK}){(plan.SharedExperts > 0 ? $" + {plan.SharedExperts} shared" : "")}"
                : $"{range}: dense MLP";
            start = i;
        }
    }

    private static bool SameShape(FeedForwardPlan a, FeedForwardPlan b) =>
        a.RoutedExperts == b.RoutedExperts && a.SharedExperts == b.SharedExperts && a.TopK == b.TopK;

    private static string Describe(TokenizerKind kind) => kind switch
    {
        DesMoe.Formats.Tokenization.TokenizerKind.ByteLevelBpe => "byte-level BPE",
        DesMoe.Formats.Tokenization.TokenizerKind.MetaspaceBpe => "metaspace BPE with byte fallback",
        _ => kind.ToString(),
    };
}
