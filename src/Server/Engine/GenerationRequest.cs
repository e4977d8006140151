using DesMoe.Onnx.Generation;

namespace DesMoe.Server.Engine;

/// <summary>A validated generation request, in token ids.</summary>
public sealed record GenerationRequest(
    IReadOnlyList<int> PromptTokens,
    string? Domain,
    int MaxNewTokens,
    SamplingSettings Sampling,
    int Seed,
    IReadOnlyList<string> Stops,
    bool IgnoreEndOfText = false);
