using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>One training of the comparison: a method on a set of domains (one, for a per-domain model) at one rate and seed.</summary>
public sealed record ComparisonJob(ComparedMethod Method, IReadOnlyList<string> Domains, double RelativeRate, double LearningRate, int Seed, int Steps)
{
    public string Describe() =>
        $"{Method.Name} ({(Method.Setting == PaperSetting.PerDomain ? "per domain" : "mixed")}) on {string.Join("+", Domains)}, " +
        $"{RelativeRate.ToString("G3", CultureInfo.InvariantCulture)}x = lr {LearningRate.ToString("G3", CultureInfo.InvariantCulture)}, seed {Seed}, {Steps} steps";

    /// <summary>
    /// The cache key: everything the result depends on (base weights, data, the method's full options, domains,
    /// rate, seed, steps, batch), so a changed input never reuses a stale result.
    /// </summary>
    public string Key(string modelHash, string dataHash, int batchSize, int validateEvery)
    {
        var options = Method.Options with { Steps = Steps, LearningRate = LearningRate, Seed = Seed, BatchSize = batchSize, ValidateEvery = validateEvery };
        var text = string.Join("\n", "v1", modelHash, dataHash, Method.Name, Method.Setting, string.Join(",", Domains),
            LearningRate.ToString("R", CultureInfo.InvariantCulture), Seed, Steps, JsonSerializer.Serialize(options));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..24];
    }
}

/// <summary>What one job measured; scores 0..1 on the test split.</summary>
/// <param name="Test">each domain's test score without a label (the router decides), or through the domain's own model for a per-domain job</param>
/// <param name="LabelledTest">domain-routed jobs: each domain's test score through its routing row</param>
/// <param name="General">each general probe on the no-domain path</param>
/// <param name="BestStep">the step whose weights were scored (the lowest validation loss)</param>
public sealed record JobResult(
    [property: JsonPropertyName("test")] IReadOnlyDictionary<string, double> Test,
    [property: JsonPropertyName("labelled_test")] IReadOnlyDictionary<string, double>? LabelledTest,
    [property: JsonPropertyName("general")] IReadOnlyDictionary<string, double> General,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("best_step")] int? BestStep,
    [property: JsonPropertyName("best_validation_loss")] double? BestValidationLoss,
    [property: JsonPropertyName("seconds_to_best")] double? SecondsToBest)
{
    [JsonPropertyName("job")] public string? Job { get; init; }
}
