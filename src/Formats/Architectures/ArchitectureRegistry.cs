using DesMoe.Formats.Architectures.DeepseekV2;
using DesMoe.Formats.Hub;
using DesMoe.Formats.Architectures.Mixtral;
using DesMoe.Formats.Architectures.Olmoe;
using DesMoe.Formats.Architectures.Qwen2Moe;
using DesMoe.Formats.Architectures.Qwen3Moe;

namespace DesMoe.Formats.Architectures;

/// <summary>
/// The supported hub architectures, keyed by <c>config.json</c>'s <c>model_type</c> (as vLLM's model registry).
/// Adding an architecture is a folder with its config and builder plus one line here.
/// </summary>
public static class ArchitectureRegistry
{
    private static readonly IReadOnlyDictionary<string, IHubArchitecture> ByModelType = new IHubArchitecture[]
    {
        new DeepseekV2Architecture(),
        new MixtralArchitecture(),
        new OlmoeArchitecture(),
        new Qwen2MoeArchitecture(),
        new Qwen3MoeArchitecture(),
    }.ToDictionary(a => a.ModelType, StringComparer.Ordinal);

    public static IReadOnlyList<string> SupportedModelTypes { get; } = ByModelType.Keys.Order(StringComparer.Ordinal).ToList();

    public static IHubArchitecture For(string modelType) =>
        ByModelType.TryGetValue(modelType, out var architecture)
            ? architecture
            : throw new HubModelException($"model_type '{modelType}' is not supported (supported: {string.Join(", ", SupportedModelTypes)})");
}
