namespace DesMoe.WorkerProtocol;

/// <summary>An adaptation job's state: the worker reports Training, Evaluating and Exporting; the server records them all.</summary>
public enum JobStatus { Queued, Training, Evaluating, Exporting, Succeeded, Rejected, Failed, Cancelled }

/// <summary>An accuracy before and after the job on one held-out set (before is null for the new domain).</summary>
public sealed record ScoreRecord(string Name, double? Before, double After, int Examples);

public sealed record EvaluationRecord(IReadOnlyList<ScoreRecord> Scores, double MaxAllowedDrop, bool Passed);

public sealed record ProgressRecord(string Phase, int Step, int TotalSteps, double Loss, double RouterKl, double TokensPerSecond, double EtaSeconds);
