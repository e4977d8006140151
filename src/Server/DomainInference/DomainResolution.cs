using DesMoe.Formats.Data;
using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using DesMoe.Server.Telemetry;

namespace DesMoe.Server.DomainInference;

/// <summary>The domain a request is served on, and how it was decided (reported in the response).</summary>
/// <param name="Domain">the domain routed by; null for the plain router</param>
/// <param name="Candidate">for an inferred domain, the likeliest class ("general" for general text), routed by or not</param>
public sealed record DomainChoice(string? Domain, bool Inferred, double Confidence, string? Candidate);

/// <summary>Settles the domain of a validated request: the one it names, the one its prompt's routing suggests, or the plain router.</summary>
public static class DomainResolution
{
    /// <summary>Asks for an inferred domain even when the server does not infer for empty domains.</summary>
    public const string Auto = "auto";

    /// <summary>Asks for the plain router, never an inferred domain.</summary>
    public const string None = "none";

    public static bool IsReserved(string name) => name is Auto or None;

    /// <param name="requested">the request's domain field as sent</param>
    public static (GenerationRequest Request, DomainChoice Choice) Resolve(GenerationRequest validated, string requested, IGenerationEngine engine, ServerOptions options)
    {
        if (validated.Domain is { } named) return (validated, new DomainChoice(named, false, 1, named));
        bool infer = requested == Auto || (requested.Length == 0 && options.AutoDomain);
        if (!infer || engine.DomainClassifier is not { } classifier) return (validated, new DomainChoice(null, false, 0, null));

        var guess = classifier.Classify(validated.PromptTokens);
        string candidate = guess.Candidate ?? DomainCatalog.GeneralName;
        ServerTelemetry.DomainInferences.Add(1, new KeyValuePair<string, object?>("candidate", candidate),
            new KeyValuePair<string, object?>("routed", guess.Domain is not null));
        ServerTelemetry.DomainConfidence.Record(guess.Confidence, new KeyValuePair<string, object?>("candidate", candidate));
        return (validated with { Domain = guess.Domain }, new DomainChoice(guess.Domain, true, guess.Confidence, candidate));
    }
}
