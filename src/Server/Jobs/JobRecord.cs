using System.Text.Json.Serialization;
using DesMoe.WorkerProtocol;

namespace DesMoe.Server.Jobs;

/// <summary>What a job does: add a domain (every job before removals existed) or remove one.</summary>
public enum JobKind { AddDomain, RemoveDomain }

/// <summary><c>job.json</c>: an adaptation job's state, rewritten (by rename) on every change.</summary>
public sealed record JobRecord
{
    public const string FileName = "job.json";

    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("domain")] public required string Domain { get; init; }
    [JsonPropertyName("kind"), JsonConverter(typeof(JsonStringEnumConverter<JobKind>))] public JobKind Kind { get; init; }
    [JsonPropertyName("status"), JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))] public JobStatus Status { get; init; }
    [JsonPropertyName("message")] public string Message { get; init; } = "";
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }
    [JsonPropertyName("updated")] public DateTimeOffset Updated { get; init; }
    [JsonPropertyName("base_version")] public string BaseVersion { get; init; } = "";
    [JsonPropertyName("result_version")] public string ResultVersion { get; init; } = "";
    [JsonPropertyName("steps")] public int Steps { get; init; }
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; }
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; }
    [JsonPropertyName("train_examples")] public int TrainExamples { get; init; }
    [JsonPropertyName("eval_examples")] public int EvalExamples { get; init; }
    [JsonPropertyName("progress")] public ProgressRecord? Progress { get; init; }
    [JsonPropertyName("evaluation")] public EvaluationRecord? Evaluation { get; init; }

    [JsonIgnore] public bool IsFinished => Status is JobStatus.Succeeded or JobStatus.Rejected or JobStatus.Failed or JobStatus.Cancelled;
    [JsonIgnore] public bool IsRunning => Status is JobStatus.Training or JobStatus.Evaluating or JobStatus.Exporting;
}
