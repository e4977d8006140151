namespace DesMoe.WorkerProtocol;

/// <summary>
/// Named points in the adaptation job where fault-injection tests stop or fail the process on purpose. Off unless
/// the environment names a point, so production pays one dictionary lookup per point:
/// <list type="bullet">
/// <item><c>DESMOE_FAULT_HALT_AT=point[,point]</c>: on reaching the point, write a file of that name into
/// <c>DESMOE_FAULT_MARKERS</c> (when set) and block forever, so a test can <c>kill -9</c> the server right there;</item>
/// <item><c>DESMOE_FAULT_FAIL_AT=point[,point]</c>: throw an <see cref="IOException"/> at the point (a simulated write failure).</item>
/// </list>
/// The adaptation worker (a separate executable) inherits the server's environment, so its points work the same way;
/// this class lives in the protocol assembly because both processes reach points.
/// </summary>
public static class FaultPoints
{
    public const string HaltVariable = "DESMOE_FAULT_HALT_AT";
    public const string FailVariable = "DESMOE_FAULT_FAIL_AT";
    public const string MarkersVariable = "DESMOE_FAULT_MARKERS";

    /// <summary>In the worker, after its first training step.</summary>
    public const string WorkerTraining = "worker-training";
    /// <summary>In the worker, when evaluation of every domain starts.</summary>
    public const string WorkerEvaluating = "worker-evaluating";
    /// <summary>In the worker, after the checkpoint is saved and before the ONNX export is written.</summary>
    public const string WorkerExporting = "worker-exporting";
    /// <summary>In the server, after the new version folder is renamed into place and before <c>current</c> moves.</summary>
    public const string VersionRenamed = "version-renamed";
    /// <summary>In the server, after <c>current</c> moved and the new version is swapped in, before the job is marked done.</summary>
    public const string VersionSwapped = "version-swapped";

    private static readonly HashSet<string> Halts = Read(HaltVariable);
    private static readonly HashSet<string> Failures = Read(FailVariable);

    public static void Reach(string point)
    {
        if (Failures.Contains(point)) throw new IOException($"injected write failure at fault point '{point}'");
        if (!Halts.Contains(point)) return;
        if (Environment.GetEnvironmentVariable(MarkersVariable) is { Length: > 0 } markers)
            File.WriteAllText(Path.Combine(markers, point), Environment.ProcessId.ToString());
        Thread.Sleep(Timeout.Infinite);
    }

    private static HashSet<string> Read(string variable) =>
        (Environment.GetEnvironmentVariable(variable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
}
