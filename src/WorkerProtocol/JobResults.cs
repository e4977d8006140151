namespace DesMoe.WorkerProtocol;

/// <summary>An adaptation job's state: the worker reports Training, Evaluating and Exporting; the server records them all.</summary>
public enum JobStatus { Queued, Training, Evaluating, Exporting, Succeeded, Rejected, Failed, Cancelled }

/// <summary>A score (0..1) before and after the job on one held-out set or general probe (before is null for the new domain).</summary>
public sealed record ScoreRecord(string Name, double? Before, double After, int Examples);

public sealed record EvaluationRecord(IReadOnlyList<ScoreRecord> Scores, double MaxAllowedDrop, bool Passed)
{
    /// <summary>
    /// Which general set the gate measured: the model folder's probes, or the built-in string-skills set for a folder
    /// without them (null in records written before the choice existed).
    /// </summary>
    public string? GeneralSet { get; init; }

    /// <summary>The most a text probe (next-token accuracy) could lose; null where the gate measured none.</summary>
    public double? MaxAllowedTextDrop { get; init; }

    /// <summary>Why the gate refused the job, one line per failed check; empty when it passed (null in older records).</summary>
    public IReadOnlyList<string>? Reasons { get; init; }
}

public sealed record ProgressRecord(string Phase, int Step, int TotalSteps, double Loss, double RouterKl, double TokensPerSecond, double EtaSeconds);
