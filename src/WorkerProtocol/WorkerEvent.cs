using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.WorkerProtocol;

/// <summary>One line the worker prints on stdout: progress, a state change, a log message, or the final evaluation.</summary>
public sealed record WorkerEvent
{
    [JsonPropertyName("state"), JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))] public JobStatus? State { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("progress")] public ProgressRecord? Progress { get; init; }
    [JsonPropertyName("evaluation")] public EvaluationRecord? Evaluation { get; init; }
    [JsonPropertyName("domains")] public IReadOnlyList<string>? Domains { get; init; }

    /// <summary>Marks the worker's event lines; anything else on its stdout (e.g. a library's own output) is only logged.</summary>
    public const string Prefix = "desmoe-worker ";

    public string ToLine() => Prefix + JsonSerializer.Serialize(this);

    public static WorkerEvent? Parse(string? line) =>
        line is not null && line.StartsWith(Prefix, StringComparison.Ordinal) ? JsonSerializer.Deserialize<WorkerEvent>(line[Prefix.Length..]) : null;
}
