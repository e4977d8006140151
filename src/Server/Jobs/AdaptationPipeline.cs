using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;
using DesMoe.Server.Telemetry;
using DesMoe.WorkerProtocol;

namespace DesMoe.Server.Jobs;

/// <summary>
/// One AddDomain job: the adaptation worker process adapts the served version's checkpoint, evaluates and gates it,
/// and exports an accepted result into a staged version folder; the pipeline then renames the version into place,
/// points <c>current</c> at it and swaps it in. A rejected, failed or cancelled job leaves the served model and the
/// store as they were.
/// </summary>
public sealed class AdaptationPipeline(
    ModelStore store, ModelHost host, JobStore jobs, WorkerLocator workers, AdaptationSettings settings, ServerOptions options, ILogger<AdaptationPipeline> logger)
{
    public async Task RunAsync(string jobId, CancellationToken cancellation)
    {
        var job = jobs.Get(jobId);
        var parent = host.Version; // the version in service (the newest that loads, if current is broken)
        var folder = store.ModelFolderOf(parent)
                     ?? throw new InvalidOperationException($"version {parent.Id} was given as an ONNX export only; there is no checkpoint to adapt");
        if (parent.Domains.Contains(job.Domain)) throw new InvalidOperationException($"version {parent.Id} already serves a domain named '{job.Domain}'");
        // Again at run time: the worker may have been removed since the job was accepted.
        var worker = workers.Find(out var searched) ?? throw new InvalidOperationException(WorkerLocator.ServingOnly("AddDomain", searched));
        var (trainFile, evalFile) = jobs.DataFiles(jobId);
        jobs.Update(jobId, j => j with { Status = JobStatus.Training, BaseVersion = parent.Id, Message = $"adapting {parent.Id}" });
        using var jobSpan = ServerTelemetry.Traces.StartActivity("desmoe.adaptation.job");
        jobSpan?.SetTag("desmoe.job", jobId).SetTag("desmoe.domain", job.Domain).SetTag("desmoe.base_version", parent.Id);
        using var phases = new PhaseSpans(jobSpan?.Context ?? default);
        phases.Enter(JobStatus.Training);

        EvaluationRecord? evaluation = null;
        IReadOnlyList<string>? domains = null;
        VersionRecord? version;
        try
        {
            version = await store.CreateVersionAsync(parent, jobId, async staging =>
            {
                var request = new AdaptRequest
                {
                    ParentModelFolder = folder, Domain = job.Domain, TrainFile = trainFile, EvalFile = evalFile,
                    EarlierEvalFiles = store.EvalFiles(parent), GeneralEvalExamples = settings.GeneralEvalExamples,
                    Steps = job.Steps, BatchSize = job.BatchSize, LearningRate = job.LearningRate, Threads = settings.TrainingThreads,
                    MaxAllowedDrop = settings.MaxAllowedDrop, MaxAllowedTextDrop = settings.MaxAllowedTextDrop, OutputFolder = staging,
                    OwnerFile = store.OwnerFile, OwnerToken = store.OwnerToken ?? throw new InvalidOperationException("a serving-only replica runs no jobs"),
                };
                await WorkerProcess.RunAsync(worker, WorkerCommands.Adapt, request, Path.Combine(Path.GetDirectoryName(trainFile)!, "worker-request.json"), jobs.WorkerPidFile(jobId), e =>
                {
                    if (e.Message is { } message) logger.LogInformation("job {Job}: {Message}", jobId, message);
                    if (e.Evaluation is not null) evaluation = e.Evaluation;
                    if (e.State is { } state) phases.Enter(state);
                    if (e.Domains is not null) domains = e.Domains;
                    if (e.State is not null || e.Progress is not null)
                        jobs.Update(jobId, j => j with
                        {
                            Status = e.State ?? j.Status, Message = e.State is null ? j.Message : e.Message ?? j.Message,
                            Progress = e.Progress ?? j.Progress, Evaluation = e.Evaluation ?? j.Evaluation,
                        });
                }, logger, cancellation);
                if (evaluation is null) throw new InvalidOperationException("the adaptation worker ended without an evaluation");
                if (!evaluation.Passed) throw new GateRejectedException();
                return (domains ?? throw new InvalidOperationException("the adaptation worker ended without writing the new version"),
                    new Dictionary<string, string> { [job.Domain] = evalFile });
            });
        }
        catch (GateRejectedException)
        {
            var reasons = evaluation!.Reasons
                          ?? evaluation.Scores.Where(s => s.Before - s.After > settings.MaxAllowedDrop).Select(s => $"{s.Name} {s.Before:P1} -> {s.After:P1}").ToList();
            jobs.Update(jobId, j => j with
            {
                Status = JobStatus.Rejected, Evaluation = evaluation,
                Message = $"regression gate: {string.Join(", ", reasons)}; {parent.Id} stays in service" +
                          (evaluation.GeneralSet is { } general ? $" (general set: {general})" : ""),
            });
            return;
        }
        cancellation.ThrowIfCancellationRequested();
        FaultPoints.Reach(FaultPoints.VersionRenamed);

        phases.Enter(null);
        using var swapSpan = ServerTelemetry.StartChild("desmoe.adaptation.swap", jobSpan?.Context ?? default);
        var engine = EngineFactory.Create(options, store, version, logger);
        store.SetCurrent(version.Id);
        host.Swap(engine, version);
        FaultPoints.Reach(FaultPoints.VersionSwapped);
        jobs.Update(jobId, j => j with { Status = JobStatus.Succeeded, ResultVersion = version.Id, Evaluation = evaluation, Message = $"{version.Id} is in service" });
        logger.LogInformation("job {Job}: {Version} with domain '{Domain}' is in service", jobId, version.Id, job.Domain);
        foreach (var id in store.Prune(settings.KeepVersions)) logger.LogInformation("removed model version {Version} (retention {Keep})", id, settings.KeepVersions);
    }

    /// <summary>One span per job phase (training, evaluating, exporting) under the job's span.</summary>
    private sealed class PhaseSpans(System.Diagnostics.ActivityContext job) : IDisposable
    {
        private readonly object _lock = new();
        private System.Diagnostics.Activity? _current;

        public void Enter(JobStatus? state)
        {
            lock (_lock)
            {
                _current?.Dispose();
                _current = state is null ? null : ServerTelemetry.StartChild($"desmoe.adaptation.{state.ToString()!.ToLowerInvariant()}", job);
            }
        }

        public void Dispose() => Enter(null);
    }

    private sealed class GateRejectedException() : Exception("the regression gate rejected the result");
}
