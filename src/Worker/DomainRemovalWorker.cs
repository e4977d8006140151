using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Evaluation;
using DesMoe.Torch.Tensors;
using DesMoe.Trainer.Adaptation;
using DesMoe.WorkerProtocol;

namespace DesMoe.Worker;

/// <summary>
/// A RemoveDomain job's heavy half, in a child process of the server like AddDomain's: drops the domain's copies,
/// compares every remaining path's logits bit for bit before and after (the gate: a removal may change nothing
/// else), and for a passing result writes the checkpoint and its ONNX export.
/// </summary>
public static class DomainRemovalWorker
{
    /// <summary>Held-out prompts per remaining path whose logits are compared.</summary>
    private const int CheckedPrompts = 32;

    public static void Execute(RemovalRequest request, Action<WorkerEvent> emit) => TensorLifetime.Scoped(() => ExecuteScoped(request, emit));

    private static void ExecuteScoped(RemovalRequest request, Action<WorkerEvent> emit)
    {
        TorchSharp.torch.set_num_threads(Math.Max(1, request.Threads));
        using var loaded = ModelFolder.Load(request.ParentModelFolder);
        var assignment = ExpertAssignment.LoadFrom(request.ParentModelFolder, loaded.Config)
                         ?? throw new InvalidOperationException($"{request.ParentModelFolder} has no domains to remove");
        var remaining = request.RemainingEvalFiles.Select(kv => new EvaluationSet(kv.Key, Jsonl.Read(kv.Value)))
            .Prepend(new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(request.GeneralEvalExamples))).ToList();

        emit(new WorkerEvent { State = JobStatus.Evaluating, Message = $"removing '{request.Domain}' and comparing every remaining path's logits" });
        var before = PathFingerprints.Of(loaded.Model, loaded.Tokenizer, assignment, remaining, CheckedPrompts);
        var (model, after) = DomainRemoval.Run(loaded.Model, assignment, request.Domain);
        using var _ = model;
        var unchanged = before.CompareWith(PathFingerprints.Of(model, loaded.Tokenizer, after, remaining, CheckedPrompts))
            .Select(c => new PathCheckRecord(c.Name, c.Sequences, c.Logits, c.Differing, c.BitIdentical)).ToList();
        var evaluation = new EvaluationRecord([], MaxAllowedDrop: 0, Passed: unchanged.All(c => c.BitIdentical), unchanged);
        if (!evaluation.Passed)
        {
            emit(new WorkerEvent { Evaluation = evaluation });
            return;
        }

        emit(new WorkerEvent { State = JobStatus.Exporting, Message = "exporting to ONNX", Evaluation = evaluation });
        var files = new Dictionary<string, string> { [ExpertAssignment.FileName] = after.ToJson() };
        if (SpecificityMatrix.LoadFrom(request.ParentModelFolder) is { } parentMatrix
            && (parentMatrix.Domains.Contains(request.Domain) ? parentMatrix.Without(request.Domain) : parentMatrix) is { } matrix)
            files[SpecificityMatrix.FileName] = matrix.ToJson();
        VersionOutput.Write(request.OutputFolder, request.OwnerFile, request.OwnerToken, request.ParentModelFolder, model, loaded.Tokenizer, loaded.Hub, files, emit);
        emit(new WorkerEvent { Evaluation = evaluation, Domains = after.Domains });
    }
}
