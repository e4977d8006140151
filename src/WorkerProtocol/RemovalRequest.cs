namespace DesMoe.WorkerProtocol;

/// <summary>What the worker's <see cref="WorkerCommands.RemoveDomain"/> command does (written as JSON, its path passed on the command line).</summary>
public sealed record RemovalRequest
{
    public required string ParentModelFolder { get; init; }
    public required string Domain { get; init; }
    /// <summary>Held-out sets of the domains that stay, by name: their paths must compute exactly as before.</summary>
    public required IReadOnlyDictionary<string, string> RemainingEvalFiles { get; init; }
    public int GeneralEvalExamples { get; init; }
    public int Threads { get; init; }
    /// <summary>Where the result goes: <c>model/</c> (checkpoint) and <c>onnx/</c> (export).</summary>
    public required string OutputFolder { get; init; }
    /// <summary>The store's owner file and the token the starting server wrote there: the worker writes only while they match.</summary>
    public required string OwnerFile { get; init; }
    public required string OwnerToken { get; init; }
}
