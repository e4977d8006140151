using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Probes;
using DesMoe.Torch.Tensors;
using DesMoe.Trainer.Adaptation;
using DesMoe.WorkerProtocol;

namespace DesMoe.Worker;

/// <summary>
/// The adaptation job's heavy half, run in a child process of the server (<c>DesMoe.Worker adapt-worker request.json</c>): incremental
/// DES-MoE, evaluation of every earlier domain and the general set (the model folder's probes when it has them) before
/// and after, the regression gate, and for an accepted result the checkpoint (with the probes) and its ONNX export. A
/// separate process bounds the CPU training takes, lets a cancel stop it at once, keeps a native crash away from the server, and keeps the server's request traffic (and
/// its garbage collections) away from TorchSharp, whose native calls are not safe against a concurrent finalizer.
/// </summary>
public static class AdaptationWorker
{
    /// <summary>Held-out prompts per earlier path whose logits the job compares bit for bit before and after.</summary>
    private const int UnchangedPathPrompts = 32;

    public static void Execute(AdaptRequest request, Action<WorkerEvent> emit) => TensorLifetime.Scoped(() => ExecuteScoped(request, emit));

    private static void ExecuteScoped(AdaptRequest request, Action<WorkerEvent> emit)
    {
        TorchSharp.torch.set_num_threads(Math.Max(1, request.Threads));
        using var loaded = ModelFolder.Load(request.ParentModelFolder);
        var config = loaded.Config;
        var assignment = ExpertAssignment.LoadFrom(request.ParentModelFolder, config) ?? ExpertAssignment.Empty(config.NumMoeLayers, config.NumRoutedExperts);
        var matrix = SpecificityMatrix.LoadFrom(request.ParentModelFolder);

        var earlier = request.EarlierEvalFiles.Select(kv => new EvaluationSet(kv.Key, Jsonl.Read(kv.Value)))
            .Prepend(new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(request.GeneralEvalExamples))).ToList();
        var probes = ProbeFolder.Read(request.ParentModelFolder);
        var generalSet = probes?.Describe()
                         ?? $"the built-in general set ({request.GeneralEvalExamples} string-skills examples): the model folder has no {ProbeFolder.FolderName}/ probes";
        emit(new WorkerEvent { Message = "the gate's general set: " + generalSet });
        var before = GateScores.Measure(loaded, assignment, probes, earlier, request.GeneralEvalExamples);
        var unchangedBefore = PathFingerprints.Of(loaded.Model, loaded.Tokenizer, assignment, earlier, UnchangedPathPrompts);

        var addition = new DomainAddition(loaded.Model, loaded.Tokenizer, new DomainAdditionOptions
        {
            Steps = request.Steps, BatchSize = request.BatchSize, LearningRate = request.LearningRate,
        });
        addition.Log += message => emit(new WorkerEvent { Message = message });
        var run = addition.Run(assignment, matrix, request.Domain, Jsonl.Read(request.TrainFile),
            p =>
            {
                emit(new WorkerEvent
                {
                    Progress = new ProgressRecord(p.Phase?.ToString() ?? "", p.Step, p.TotalSteps, p.Loss, p.RouterKl, p.TokensPerSecond, p.EstimatedRemaining.TotalSeconds),
                });
                if (p.Step >= 1) FaultPoints.Reach(FaultPoints.WorkerTraining);
            });

        emit(new WorkerEvent { State = JobStatus.Evaluating, Message = "evaluating every domain and the general set" });
        FaultPoints.Reach(FaultPoints.WorkerEvaluating);
        var after = GateScores.Measure(loaded, run.Assignment, probes, earlier, request.GeneralEvalExamples);
        var heldOut = new EvaluationSet(request.Domain, Jsonl.Read(request.EvalFile));
        var newDomain = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, run.Assignment, NoDomainRouting.AllExperts, [heldOut])[request.Domain];
        var unchanged = unchangedBefore.CompareWith(PathFingerprints.Of(loaded.Model, loaded.Tokenizer, run.Assignment, earlier, UnchangedPathPrompts))
            .Select(c => new PathCheckRecord(c.Name, c.Sequences, c.Logits, c.Differing, c.BitIdentical)).ToList();
        var evaluation = RegressionGate.Judge(before, after, request.Domain, (newDomain.Accuracy, heldOut.Examples.Count), request.MaxAllowedDrop,
            request.MaxAllowedTextDrop) with { GeneralSet = generalSet, UnchangedPaths = unchanged };
        if (!evaluation.Passed)
        {
            emit(new WorkerEvent { Evaluation = evaluation });
            return;
        }

        emit(new WorkerEvent { State = JobStatus.Exporting, Message = "exporting to ONNX", Evaluation = evaluation });
        VersionOutput.Write(request.OutputFolder, request.OwnerFile, request.OwnerToken, request.ParentModelFolder, loaded.Model, loaded.Tokenizer, loaded.Hub,
            new Dictionary<string, string> { [ExpertAssignment.FileName] = run.Assignment.ToJson(), [SpecificityMatrix.FileName] = run.Matrix.ToJson() }, emit);
        emit(new WorkerEvent { Evaluation = evaluation, Domains = run.Assignment.Domains });
    }
}
