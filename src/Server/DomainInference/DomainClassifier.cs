using DesMoe.Formats.Data;
using DesMoe.Onnx;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Server.DomainInference;

/// <summary>What the classifier made of a prompt: the likeliest class (a domain, or null for the general set), its vote share, and whether that was enough to route by it.</summary>
/// <param name="Candidate">the class with most votes: a domain name, or null for general text</param>
/// <param name="Confidence">share of the <see cref="DomainClassifier.Neighbours"/> nearest reference prompts that belong to it</param>
public sealed record DomainGuess(string? Candidate, double Confidence, double MinConfidence)
{
    /// <summary>The domain to route by, or null: general text, or a domain below the confidence threshold, is served by the plain router.</summary>
    public string? Domain => Candidate is not null && Confidence >= MinConfidence ? Candidate : null;
}

/// <summary>
/// Infers a request's domain from how its prompt routes, for clients that do not name one: k nearest neighbours
/// (cosine) among the routing profiles (<see cref="RoutingProfile"/>) of reference prompts of every served domain
/// and of the general set. k-NN over a few hundred 64-dimensional profiles costs microseconds beyond the one
/// prefill step the profile needs, keeps no trained parameters (it is rebuilt from the version's own held-out sets
/// whenever a version loads), and its confidence reads plainly: "13 of the 15 most similar prompts were intent".
/// </summary>
public sealed class DomainClassifier
{
    public const int Neighbours = 15;
    private readonly List<(float[] Profile, string? Label)> _references;
    private readonly OnnxDecoder _decoder;

    private DomainClassifier(OnnxDecoder decoder, List<(float[], string?)> references, double minConfidence)
    {
        _decoder = decoder;
        _references = references;
        MinConfidence = minConfidence;
    }

    public double MinConfidence { get; }

    /// <summary>Reference prompts per class.</summary>
    public IReadOnlyDictionary<string, int> References =>
        _references.GroupBy(r => r.Label ?? DomainCatalog.GeneralName).ToDictionary(g => g.Key, g => g.Count());

    /// <param name="domainPrompts">reference prompts of each served domain (e.g. its stored held-out set)</param>
    /// <param name="generalPrompts">reference prompts of general text, served by the plain router</param>
    public static DomainClassifier Build(OnnxDecoder decoder, IReadOnlyDictionary<string, IReadOnlyList<string>> domainPrompts,
        IReadOnlyList<string> generalPrompts, double minConfidence)
    {
        var tokenizer = decoder.Info.Tokenizer;
        var references = new List<(float[], string?)>();
        foreach (var (domain, prompts) in domainPrompts)
            references.AddRange(prompts.Select(p => (RoutingProfile.Of(decoder, PromptFormat.EncodePrompt(tokenizer, p)), (string?)domain)));
        references.AddRange(generalPrompts.Select(p => (RoutingProfile.Of(decoder, PromptFormat.EncodePrompt(tokenizer, p)), (string?)null)));
        return new DomainClassifier(decoder, references, minConfidence);
    }

    /// <summary>Classifies a prompt given as token ids (control tokens included, as the engine gets it).</summary>
    public DomainGuess Classify(IReadOnlyList<int> prompt)
    {
        var profile = RoutingProfile.Of(_decoder, prompt);
        var nearest = _references.Select(r => (Similarity: RoutingProfile.Cosine(profile, r.Profile), r.Label))
            .OrderByDescending(r => r.Similarity).Take(Neighbours).ToList();
        var winner = nearest.GroupBy(r => r.Label).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Sum(r => r.Similarity)).First();
        return new DomainGuess(winner.Key, winner.Count() / (double)nearest.Count, MinConfidence);
    }
}
