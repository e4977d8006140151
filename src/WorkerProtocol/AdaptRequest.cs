namespace DesMoe.WorkerProtocol;

/// <summary>What the worker's <see cref="WorkerCommands.Adapt"/> command does (written as JSON, its path passed on the command line).</summary>
public sealed record AdaptRequest
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
    /// <summary>The most a text probe (next-token accuracy) of the model folder may lose.</summary>
    public double MaxAllowedTextDrop { get; init; }
    /// <summary>Where an accepted result goes: <c>model/</c> (checkpoint) and <c>onnx/</c> (export).</summary>
    public required string OutputFolder { get; init; }
    /// <summary>The store's owner file and the token the starting server wrote there: the worker writes only while they match.</summary>
    public required string OwnerFile { get; init; }
    public required string OwnerToken { get; init; }
}
