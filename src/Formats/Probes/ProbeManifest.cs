using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.Formats.Probes;

/// <summary>One probe's entry in <c>eval/manifest.json</c>: its data file (in the same folder), metric and size.</summary>
public sealed record ProbeEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("examples")] int Examples,
    [property: JsonPropertyName("score")] double? Score);

/// <summary><c>eval/manifest.json</c>: the format version, what wrote the probes, and one entry per probe.</summary>
public sealed record ProbeManifest(
    [property: JsonPropertyName("format")] int Format,
    [property: JsonPropertyName("made_by")] string MadeBy,
    [property: JsonPropertyName("probes")] IReadOnlyList<ProbeEntry> Probes)
{
    public const string FileName = "manifest.json";
    public const int CurrentFormat = 1;

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static ProbeManifest Load(string path)
    {
        ProbeManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ProbeManifest>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a readable probe manifest: {e.Message}", e);
        }
        if (manifest?.Probes is null) throw new InvalidDataException($"{path} lists no probes");
        if (manifest.Format != CurrentFormat) throw new InvalidDataException($"{path} has format {manifest.Format}; this build reads format {CurrentFormat}");
        return manifest;
    }

    public static string MetricName(ProbeMetric metric) => metric switch
    {
        ProbeMetric.NextTokenAccuracy => "next_token_accuracy",
        ProbeMetric.ExactMatch => "exact_match",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "no manifest name for this metric"),
    };

    public static ProbeMetric ParseMetric(string name, string path) => name switch
    {
        "next_token_accuracy" => ProbeMetric.NextTokenAccuracy,
        "exact_match" => ProbeMetric.ExactMatch,
        _ => throw new InvalidDataException($"{path}: unknown probe metric '{name}' (next_token_accuracy or exact_match)"),
    };
}
