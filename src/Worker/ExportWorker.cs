using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.WorkerProtocol;

namespace DesMoe.Worker;

/// <summary>
/// The worker's <see cref="WorkerCommands.Export"/> command: the ONNX export of a model folder for the base version of
/// the server's model store. The server asks for it here because exporting runs the TorchSharp model, and the server
/// itself carries no libtorch (a serving-only deployment has none at all).
/// </summary>
public static class ExportWorker
{
    public static void Execute(ExportRequest request, Action<WorkerEvent> emit)
    {
        var staging = Path.GetDirectoryName(Path.GetFullPath(request.OutputFolder))!;
        StoreOwnership.Ensure(request.OwnerFile, request.OwnerToken, staging);
        var result = ModelExporter.Export(request.ModelFolder, request.OutputFolder, new ExportOptions(), line => emit(new WorkerEvent { Message = line }));
        emit(new WorkerEvent { Message = $"exported {result.ModelPath} in {result.Elapsed.TotalSeconds:F1} s" });
    }
}
