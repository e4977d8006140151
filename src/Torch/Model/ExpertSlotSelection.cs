using System.Text.RegularExpressions;
using DesMoe.Formats.Architectures;
using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>
/// A model that keeps only some of its domain expert copies: what removing a copied domain leaves. Every other weight
/// is copied bit for bit, so every remaining path computes exactly what it computed before.
/// </summary>
public static partial class ExpertSlotSelection
{
    [GeneratedRegex(@"^layers\.(\d+)\.mlp\.experts\.(\d+)\.(.+)$")]
    private static partial Regex ExpertName();

    /// <param name="keptCopySlots">per MoE layer, the copy slots to keep (same count in every layer), in their new order</param>
    /// <returns>a new model (in eval mode) with the routed experts and those copies; the caller disposes both</returns>
    public static MoeTransformer Keep(MoeTransformer model, IReadOnlyList<int[]> keptCopySlots)
    {
        var config = model.Config;
        if (keptCopySlots.Count != config.NumMoeLayers) throw new ArgumentException($"{keptCopySlots.Count} layers of copy slots for a {config.NumMoeLayers}-layer model");
        int count = keptCopySlots[0].Length;
        if (keptCopySlots.Any(k => k.Length != count)) throw new ArgumentException($"every layer must keep the same number of copies, got [{string.Join(", ", keptCopySlots.Select(k => k.Length))}]");
        var outside = keptCopySlots.SelectMany(k => k).Where(s => s < config.NumRoutedExperts || s >= config.ExpertSlots).Distinct().ToList();
        if (outside.Count > 0) throw new ArgumentException($"copy slots [{string.Join(", ", outside)}] are outside {config.NumRoutedExperts}..{config.ExpertSlots - 1}");

        var source = model.state_dict();
        string From(string name) =>
            ExpertName().Match(name) is { Success: true } m && int.Parse(m.Groups[2].Value) is var slot && slot >= config.NumRoutedExperts
                ? $"{TensorNames.Layers}.{m.Groups[1].Value}.{TensorNames.Mlp}.{TensorNames.Experts}.{keptCopySlots[int.Parse(m.Groups[1].Value)][slot - config.NumRoutedExperts]}.{m.Groups[3].Value}"
                : name;
        // Each weight in the dtype the source holds it in, so the copy is exact.
        var result = new MoeTransformer(config with { DomainExpertCopies = count }, initializeWeights: false, model.WeightType);
        result.HoldInFloat32(name => source[From(name)].dtype == ScalarType.Float32);
        using (no_grad())
            foreach (var (name, target) in result.state_dict())
                target.copy_(source[From(name)]);
        result.eval();
        return result;
    }
}
