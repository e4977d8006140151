using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.Server.Jobs;

/// <summary>What the adaptation worker process is asked to do (written as JSON, its path passed on the command line).</summary>
public sealed record WorkerRequest
{
    public required string ParentModelFolder { get; init; }
    public required string Domain { get; init; }
    public required string TrainFile { get; init; }
    public required string EvalFile { get; init; }
    /// <summary>Held-out sets of the earlier domains, by name.</summary>
    public required IReadOnlyDictionary<string, string> EarlierEvalFiles { get; init; }
    public int GeneralEvalExamples { get; init; }
    public int Steps { get; init; }
    public int BatchSize { get; init; }
    public double LearningRate { get; init; }
    public int Threads { get; init; }
    public double MaxAllowedDrop { get; init; }
    /// <summary>Where an accepted result goes: <c>model/</c> (checkpoint) and <c>onnx/</c> (export).</summary>
    public required string OutputFolder { get; init; }
    /// <summary>The store's owner file and the token the starting server wrote there: the worker writes only while they match.</summary>
    public required string OwnerFile { get; init; }
    public required string OwnerToken { get; init; }
}

/// <summary>One line the worker prints on stdout: progress, a state change, or the final evaluation.</summary>
public sealed record WorkerEvent
{
    [JsonPropertyName("state"), JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))] public JobStatus? State { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("progress")] public ProgressRecord? Progress { get; init; }
    [JsonPropertyName("evaluation")] public EvaluationRecord? Evaluation { get; init; }
    [JsonPropertyName("domains")] public IReadOnlyList<string>? Domains { get; init; }

    public const string Prefix = "desmoe-worker ";

    public string ToLine() => Prefix + JsonSerializer.Serialize(this);

    public static WorkerEvent? Parse(string? line) =>
        line is not null && line.StartsWith(Prefix, StringComparison.Ordinal) ? JsonSerializer.Deserialize<WorkerEvent>(line[Prefix.Length..]) : null;
}
