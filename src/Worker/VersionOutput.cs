using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Formats.Probes;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Model;
using DesMoe.WorkerProtocol;

namespace DesMoe.Worker;

/// <summary>
/// What a job that passed its gate stages for the server, whatever the job: the checkpoint in <c>model/</c> (with the
/// job's domain files and the parent's general probes, so every version carries the probes its gate and domain
/// inference use) and its ONNX export in <c>onnx/</c>. The store's ownership is checked before each write.
/// </summary>
public static class VersionOutput
{
    /// <param name="files">the domain files the checkpoint holds besides its weights (assignment, matrix)</param>
    public static void Write(string outputFolder, string ownerFile, string ownerToken, string parentModelFolder,
        MoeTransformer model, ITextTokenizer tokenizer, HubOrigin? hub, IReadOnlyDictionary<string, string> files, Action<WorkerEvent> emit)
    {
        var modelFolder = Path.Combine(outputFolder, "model");
        StoreOwnership.Ensure(ownerFile, ownerToken, outputFolder);
        ModelFolder.Save(modelFolder, model, tokenizer, files, hub);
        ProbeFolder.CopyTo(parentModelFolder, modelFolder);
        FaultPoints.Reach(FaultPoints.WorkerExporting);
        StoreOwnership.Ensure(ownerFile, ownerToken, outputFolder);
        ModelExporter.Export(modelFolder, Path.Combine(outputFolder, "onnx"), new ExportOptions(), line => emit(new WorkerEvent { Message = "export: " + line }));
    }
}
