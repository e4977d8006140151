using DesMoe.Formats.Config;
using DesMoe.Onnx.Generation;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Server.Engine;

/// <summary>Runs the served model. Steps are yielded as they are decoded; cancelling the token stops the work at once.</summary>
public interface IGenerationEngine
{
    MoeConfig Config { get; }
    ITextTokenizer Tokenizer { get; }
    string ModelPath { get; }
    string ModelVersion { get; }
    string ExecutionProvider { get; }
    long ParameterCount { get; }

    /// <summary>Positions (prompt + generated tokens) a request may use: <see cref="ServingContext.Window"/>.</summary>
    int ContextWindow { get; }

    /// <summary>Domain names the model was adapted to, in id order.</summary>
    IReadOnlyList<string> Domains { get; }

    /// <summary>Infers the domain of requests that name none; null when this engine or version cannot (no domains, no reference prompts).</summary>
    DomainInference.DomainClassifier? DomainClassifier => null;

    /// <summary>Requests waiting for a batch slot, sequences decoding, and the bytes their KV caches hold.</summary>
    EngineStats Stats { get; }

    IAsyncEnumerable<GenerationStep> GenerateAsync(GenerationRequest request, CancellationToken cancellation);
}
