using DesMoe.Formats.Config;

namespace DesMoe.Server.Options;

/// <summary>The "DesMoe:Adaptation" configuration section: online domain adaptation, its limits and the regression gate.</summary>
public sealed class AdaptationSettings
{
    public const string Section = "DesMoe:Adaptation";

    /// <summary>
    /// False makes this a serving-only replica over a shared model store: no jobs run here, admin RPCs are refused,
    /// and the replica follows the store's current version (see <see cref="WatchIntervalSeconds"/>).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The adaptation worker executable (DesMoe.Worker: its assembly, app host or folder; relative to the server's folder).
    /// Empty: beside the server, then in its <c>worker/</c> folder. Without a worker the server serves only (Jobs/WorkerLocator.cs).
    /// </summary>
    public string WorkerPath { get; set; } = "";

    /// <summary>How often a serving-only replica checks the store for a new current version; 0 = never.</summary>
    public double WatchIntervalSeconds { get; set; } = 5;

    /// <summary>Bearer token the admin RPCs require; empty = one is generated into the data directory's <c>admin-token</c> file.</summary>
    public string AdminToken { get; set; } = "";

    /// <summary>Folder whose JSONL files AddDomain may name as server-side paths; empty = server-side paths are refused.</summary>
    public string ImportDirectory { get; set; } = "";

    public int DefaultSteps { get; set; } = DomainAdditionDefaults.Steps;
    public int DefaultBatchSize { get; set; } = DomainAdditionDefaults.BatchSize;
    public double DefaultLearningRate { get; set; } = DomainAdditionDefaults.LearningRate;
    public int MaxSteps { get; set; } = 5000;
    public int MaxBatchSize { get; set; } = 256;

    public int MinTrainExamples { get; set; } = 16;
    public int MaxExamples { get; set; } = 50_000;
    /// <summary>Most bytes of prompt and completion text one AddDomain may upload.</summary>
    public long MaxUploadBytes { get; set; } = 32L << 20;
    /// <summary>Held-out examples taken from the training upload when no eval examples are given (fraction, at least 1).</summary>
    public double HeldOutFraction { get; set; } = 0.1;
    public int MaxEvalExamples { get; set; } = 200;
    /// <summary>General-set examples (or, for a model folder with general probes, examples per probe) every job evaluates before and after.</summary>
    public int GeneralEvalExamples { get; set; } = 300;

    /// <summary>The gate: the most any earlier domain, the general set or a task probe may lose (exact-match accuracy, 0..1).</summary>
    public double MaxAllowedDrop { get; set; } = 0.10;

    /// <summary>
    /// The gate: the most a text probe of the model folder may lose (next-token accuracy, 0..1). Text moves less than
    /// exact match: adding intent to base-v2 costs its four English probes 1.3 to 2.1 points (docs/online-adaptation.md).
    /// </summary>
    public double MaxAllowedTextDrop { get; set; } = 0.05;

    /// <summary>
    /// Memory the served model's domains may hold: each AddDomain adds copies of top-k experts per MoE layer (at fp32)
    /// and RemoveDomain frees them; an AddDomain that would pass this (queued jobs counted) is refused.
    /// </summary>
    public long MaxDomainBytes { get; set; } = 1L << 30;

    /// <summary>Model versions kept on disk for rollback (the served one is always kept).</summary>
    public int KeepVersions { get; set; } = 5;

    /// <summary>CPU threads training may use, so that generation keeps serving.</summary>
    public int TrainingThreads { get; set; } = 1;
}
