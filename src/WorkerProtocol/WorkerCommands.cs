namespace DesMoe.WorkerProtocol;

/// <summary>
/// The worker's command line: <c>DesMoe.Worker COMMAND REQUEST.json</c>. The words are part of the contract beyond
/// this pair of processes: a restarted server recognises a worker of its previous life by <see cref="Adapt"/> and the
/// request path in <c>/proc/PID/cmdline</c>, and so do the fault tests.
/// </summary>
public static class WorkerCommands
{
    /// <summary>Adds a domain to a checkpoint, evaluates and gates it, and exports an accepted result (<see cref="AdaptRequest"/>).</summary>
    public const string Adapt = "adapt-worker";

    /// <summary>Drops a copied domain from a checkpoint, checks every remaining path bit for bit, and exports the result (<see cref="RemovalRequest"/>).</summary>
    public const string RemoveDomain = "remove-domain-worker";

    /// <summary>Exports a model folder to ONNX (<see cref="ExportRequest"/>).</summary>
    public const string Export = "export";

    /// <summary>The file name of the worker's assembly (<c>src/Worker</c>); its app host has the same name without the extension.</summary>
    public const string AssemblyFileName = "DesMoe.Worker.dll";
}
