using System.Text.Json.Serialization;

namespace DesMoe.Server.Versions;

/// <summary>
/// <c>version.json</c>: one served model version. Paths are relative to the version's folder; the base version points
/// at the configured model (<see cref="ModelStore.ConfiguredSource"/>) rather than copying it.
/// </summary>
public sealed record VersionRecord
{
    public const string FileName = "version.json";

    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("parent")] public string? Parent { get; init; }
    [JsonPropertyName("job_id")] public string? JobId { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }
    [JsonPropertyName("domains")] public IReadOnlyList<string> Domains { get; init; } = [];
    /// <summary>The exported ONNX folder that is served.</summary>
    [JsonPropertyName("onnx")] public required string Onnx { get; init; }
    /// <summary>The trainable model folder; null when the version was given as an ONNX export only.</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }
}
