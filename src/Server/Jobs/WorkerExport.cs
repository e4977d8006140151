using DesMoe.Server.Versions;
using DesMoe.WorkerProtocol;

namespace DesMoe.Server.Jobs;

/// <summary>
/// The ONNX export of a model folder into a new store's base version, run by the adaptation worker's export command:
/// exporting runs the TorchSharp model, and the server carries no libtorch. Where no worker is installed (a
/// serving-only deployment) the server is refused a model folder it has no version of yet, with a message that says
/// to export it elsewhere and serve the exported folder: libtorch is needed only here and for adaptation, and a
/// deployment that cannot adapt has no use for the checkpoint beyond this one export.
/// </summary>
public sealed class WorkerExport(WorkerLocator locator, ILogger<WorkerExport> logger)
{
    private const string RequestFileName = "export-request.json";

    /// <summary>Writes the export of <paramref name="modelFolder"/> to <paramref name="onnxFolder"/>, a folder inside the store's staging folder.</summary>
    /// <exception cref="NoServableVersionException">no worker is installed</exception>
    public void Export(string modelFolder, string onnxFolder, ModelStore store, Action<string> log)
    {
        var worker = locator.Find(out var searched) ?? throw new NoServableVersionException(
            $"{modelFolder} is a model folder, which the server exports to ONNX before serving it, and this deployment serves only: no adaptation worker at {searched}. " +
            $"Serve an exported folder instead (desmoe export {modelFolder} OUT, then DesMoe:ModelPath=OUT), or install DesMoe.Worker");
        var staging = Path.GetDirectoryName(Path.GetFullPath(onnxFolder))!;
        var requestPath = Path.Combine(staging, RequestFileName); // in the staging folder: a crash leaves nothing behind in the store
        var request = new ExportRequest
        {
            ModelFolder = modelFolder, OutputFolder = onnxFolder, OwnerFile = store.OwnerFile,
            OwnerToken = store.OwnerToken ?? throw new InvalidOperationException("a serving-only replica creates no base version"),
        };
        // Synchronous on purpose: the store is opened once at start-up, before the server listens, and serves nothing until this is done.
        WorkerProcess.RunAsync(worker, WorkerCommands.Export, request, requestPath, pidFile: null, e =>
        {
            if (e.Message is { } message) log(message);
        }, logger, CancellationToken.None).GetAwaiter().GetResult();
        File.Delete(requestPath);
    }
}
