using DesMoe.Formats.Tokenization;
using DesMoe.Formats.Hub;

namespace DesMoe.Tests.Reference;

/// <summary>A loaded hub checkpoint: its config, module (weights in place), generation settings and tokenizer.</summary>
public sealed class HubModel(string folder, HubModelConfig config, CausalLanguageModel module, GenerationConfig generation, HubTokenizer? tokenizer)
    : IDisposable
{
    public string Folder { get; } = folder;

    public HubModelConfig Config { get; } = config;

    public CausalLanguageModel Module { get; } = module;

    public GenerationConfig Generation { get; } = generation;

    /// <summary>Null when the folder has no <c>tokenizer.json</c>.</summary>
    public HubTokenizer? Tokenizer { get; } = tokenizer;

    public void Dispose() => Module.Dispose();
}
