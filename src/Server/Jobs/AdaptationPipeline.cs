using DesMoe.Core.Checkpoints;
using DesMoe.Core.Data;
using DesMoe.Core.Evaluation;
using DesMoe.Core.Model;
using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using DesMoe.Server.Serving;
using DesMoe.Server.Versions;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Server.Jobs;

/// <summary>
/// One AddDomain job: incremental DES-MoE from the served version's checkpoint, evaluation of every earlier domain and
/// the general set before and after, the regression gate, export, and the swap to the new version. A rejected,
/// failed or cancelled job leaves the served model and the store as they were.
/// </summary>
public sealed class AdaptationPipeline(ModelStore store, ModelHost host, JobStore jobs, AdaptationSettings settings, ServerOptions options, ILogger<AdaptationPipeline> logger)
{
    public void Run(string jobId, CancellationToken cancellation)
    {
        var job = jobs.Get(jobId);
        var parent = store.Current;
        var folder = store.ModelFolderOf(parent)
                     ?? throw new InvalidOperationException($"version {parent.Id} was given as an ONNX export only; there is no checkpoint to adapt");
        var (train, heldOut) = jobs.Data(jobId);
        if (parent.Domains.Contains(job.Domain)) throw new InvalidOperationException($"version {parent.Id} already serves a domain named '{job.Domain}'");

        TorchSharp.torch.set_num_threads(Math.Max(1, settings.TrainingThreads));
        jobs.Update(jobId, j => j with { Status = JobStatus.Training, BaseVersion = parent.Id, Message = $"adapting {parent.Id}" });
        using var loaded = ModelFolder.Load(folder);
        var config = loaded.Config;
        var assignmentPath = Path.Combine(folder, ExpertAssignment.FileName);
        var assignment = File.Exists(assignmentPath)
            ? ExpertAssignment.Load(assignmentPath, config.NumLayers, config.NumRoutedExperts)
            : ExpertAssignment.Empty(config.NumLayers, config.NumRoutedExperts);
        var matrixPath = Path.Combine(folder, SpecificityMatrix.FileName);
        var matrix = File.Exists(matrixPath) ? SpecificityMatrix.FromJson(File.ReadAllText(matrixPath)) : null;

        var earlier = store.EvalSets(parent).Select(s => new EvaluationSet(s.Domain, s.Examples))
            .Prepend(new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(settings.GeneralEvalExamples))).ToList();
        var before = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, assignment, NoDomainRouting.AllExperts, earlier);
        cancellation.ThrowIfCancellationRequested();

        var addition = new DomainAddition(loaded.Model, loaded.Tokenizer, new DomainAdditionOptions
        {
            Steps = job.Steps, BatchSize = job.BatchSize, LearningRate = job.LearningRate,
        });
        addition.Log += message => logger.LogInformation("job {Job}: {Message}", jobId, message);
        var reference = earlier.SelectMany(s => s.Examples).ToList();
        var run = addition.Run(assignment, matrix, job.Domain, train, reference, p => jobs.Update(jobId, j => j with
        {
            Progress = new ProgressRecord(p.Phase?.ToString() ?? "", p.Step, p.TotalSteps, p.Loss, p.RouterKl, p.TokensPerSecond, p.EstimatedRemaining.TotalSeconds),
        }), cancellation);

        jobs.Update(jobId, j => j with { Status = JobStatus.Evaluating, Message = "evaluating every domain and the general set" });
        var after = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, run.Assignment, NoDomainRouting.AllExperts,
            [.. earlier, new EvaluationSet(job.Domain, heldOut)]);
        var evaluation = Gate(earlier, before, after, job.Domain);
        if (!evaluation.Passed)
        {
            var worst = evaluation.Scores.Where(s => s.Before - s.After > settings.MaxAllowedDrop).Select(s => $"{s.Name} {s.Before:P1} -> {s.After:P1}");
            jobs.Update(jobId, j => j with
            {
                Status = JobStatus.Rejected, Evaluation = evaluation,
                Message = $"regression gate: {string.Join(", ", worst)} (max allowed drop {settings.MaxAllowedDrop:P1}); {parent.Id} stays in service",
            });
            return;
        }
        cancellation.ThrowIfCancellationRequested();

        jobs.Update(jobId, j => j with { Status = JobStatus.Exporting, Evaluation = evaluation, Message = "exporting to ONNX" });
        var version = store.CreateVersion(parent, jobId, run.Assignment.Domains, staging => ModelFolder.Save(staging, loaded.Model, loaded.Tokenizer,
            new Dictionary<string, string> { [ExpertAssignment.FileName] = run.Assignment.ToJson(), [SpecificityMatrix.FileName] = run.Matrix.ToJson() }),
            new Dictionary<string, IReadOnlyList<Example>> { [job.Domain] = heldOut }, line => logger.LogInformation("job {Job}: export: {Line}", jobId, line));
        cancellation.ThrowIfCancellationRequested();

        var engine = EngineFactory.Create(options, store, version, logger);
        store.SetCurrent(version.Id);
        host.Swap(engine, version);
        jobs.Update(jobId, j => j with { Status = JobStatus.Succeeded, ResultVersion = version.Id, Message = $"{version.Id} is in service" });
        logger.LogInformation("job {Job}: {Version} with domain '{Domain}' is in service", jobId, version.Id, job.Domain);
        foreach (var id in store.Prune(settings.KeepVersions)) logger.LogInformation("removed model version {Version} (retention {Keep})", id, settings.KeepVersions);
    }

    private EvaluationRecord Gate(IReadOnlyList<EvaluationSet> earlier, Dictionary<string, ExactMatchResult> before,
        Dictionary<string, ExactMatchResult> after, string domain)
    {
        var scores = earlier.Select(s => new ScoreRecord(s.Name, before[s.Name].Accuracy, after[s.Name].Accuracy, s.Examples.Count)).ToList();
        bool passed = scores.All(s => s.Before - s.After <= settings.MaxAllowedDrop + 1e-12);
        scores.Add(new ScoreRecord(domain, null, after[domain].Accuracy, after[domain].Total));
        return new EvaluationRecord(scores, settings.MaxAllowedDrop, passed);
    }
}
