namespace DesMoe.WorkerProtocol;

/// <summary>An adaptation job's state: the worker reports Training, Evaluating and Exporting; the server records them all.</summary>
public enum JobStatus { Queued, Training, Evaluating, Exporting, Succeeded, Rejected, Failed, Cancelled }

/// <summary>A score (0..1) before and after the job on one held-out set or general probe (before is null for the new domain).</summary>
public sealed record ScoreRecord(string Name, double? Before, double After, int Examples);

/// <param name="UnchangedPaths">
/// what the job measured of every path it must not change (the no-domain path as <c>general</c>, each earlier domain by
/// name): the logits of held-out prompts before and after, compared bit for bit; absent in records made before
/// </param>
public sealed record EvaluationRecord(IReadOnlyList<ScoreRecord> Scores, double MaxAllowedDrop, bool Passed, IReadOnlyList<PathCheckRecord>? UnchangedPaths = null)
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

/// <summary>One path's logits on <paramref name="Prompts"/> held-out prompts (<paramref name="Logits"/> values in all), compared before and after a job.</summary>
public sealed record PathCheckRecord(string Name, int Prompts, long Logits, int DifferingPrompts, bool BitIdentical);

public sealed record ProgressRecord(string Phase, int Step, int TotalSteps, double Loss, double RouterKl, double TokensPerSecond, double EtaSeconds);
