using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;
using DesMoe.WorkerProtocol;

namespace DesMoe.Server.Jobs;

/// <summary>
/// One RemoveDomain job, versioned and swapped like AddDomain's (<see cref="AdaptationPipeline"/>): the worker drops
/// the domain's expert copies from the served version's checkpoint, compares every remaining path's logits before and
/// after (its gate: any change rejects the result), and exports a passing result into a staged version folder; the
/// pipeline then renames it into place, points <c>current</c> at it and swaps it in. Rollback serves the parent again.
/// </summary>
public sealed class RemovalPipeline(
    ModelStore store, ModelHost host, JobStore jobs, WorkerLocator workers, AdaptationSettings settings, ServerOptions options, ILogger<RemovalPipeline> logger)
{
    public async Task RunAsync(string jobId, CancellationToken cancellation)
    {
        var job = jobs.Get(jobId);
        var parent = host.Version;
        var folder = store.ModelFolderOf(parent)
                     ?? throw new InvalidOperationException($"version {parent.Id} was given as an ONNX export only; there is no checkpoint to remove a domain from");
        if (!parent.Domains.Contains(job.Domain))
            throw new InvalidOperationException($"version {parent.Id} serves no domain named '{job.Domain}'; it serves [{string.Join(", ", parent.Domains)}]");
        var worker = workers.Find(out var searched) ?? throw new InvalidOperationException(WorkerLocator.ServingOnly("RemoveDomain", searched));
        var jobFolder = Path.GetDirectoryName(jobs.DataFiles(jobId).Train)!;
        jobs.Update(jobId, j => j with { Status = JobStatus.Evaluating, BaseVersion = parent.Id, Message = $"removing '{job.Domain}' from {parent.Id}" });

        EvaluationRecord? evaluation = null;
        IReadOnlyList<string>? domains = null;
        VersionRecord version;
        try
        {
            version = await store.CreateVersionAsync(parent, jobId, async staging =>
            {
                var request = new RemovalRequest
                {
                    ParentModelFolder = folder, Domain = job.Domain,
                    RemainingEvalFiles = store.EvalFiles(parent).Where(kv => kv.Key != job.Domain).ToDictionary(kv => kv.Key, kv => kv.Value),
                    GeneralEvalExamples = settings.GeneralEvalExamples, Threads = settings.TrainingThreads, OutputFolder = staging,
                    OwnerFile = store.OwnerFile, OwnerToken = store.OwnerToken ?? throw new InvalidOperationException("a serving-only replica runs no jobs"),
                };
                await WorkerProcess.RunAsync(worker, WorkerCommands.RemoveDomain, request, Path.Combine(jobFolder, "worker-request.json"), jobs.WorkerPidFile(jobId), e =>
                {
                    if (e.Message is { } message) logger.LogInformation("job {Job}: {Message}", jobId, message);
                    if (e.Evaluation is not null) evaluation = e.Evaluation;
                    if (e.Domains is not null) domains = e.Domains;
                    if (e.State is not null)
                        jobs.Update(jobId, j => j with { Status = e.State.Value, Message = e.Message ?? j.Message, Evaluation = e.Evaluation ?? j.Evaluation });
                }, logger, cancellation);
                if (evaluation is null) throw new InvalidOperationException("the removal worker ended without comparing the remaining paths");
                if (!evaluation.Passed) throw new GateRejectedException();
                return (domains ?? throw new InvalidOperationException("the removal worker ended without writing the new version"), new Dictionary<string, string>());
            });
        }
        catch (GateRejectedException)
        {
            var changed = evaluation!.UnchangedPaths!.Where(c => !c.BitIdentical).Select(c => $"{c.Name} ({c.DifferingPrompts} of {c.Prompts} prompts)");
            jobs.Update(jobId, j => j with
            {
                Status = JobStatus.Rejected, Evaluation = evaluation,
                Message = $"removing '{job.Domain}' changed the logits of {string.Join(", ", changed)}; {parent.Id} stays in service",
            });
            return;
        }
        cancellation.ThrowIfCancellationRequested();

        var engine = EngineFactory.Create(options, store, version, logger);
        store.SetCurrent(version.Id);
        host.Swap(engine, version);
        jobs.Update(jobId, j => j with { Status = JobStatus.Succeeded, ResultVersion = version.Id, Evaluation = evaluation, Message = $"{version.Id} is in service without '{job.Domain}'" });
        logger.LogInformation("job {Job}: {Version} without domain '{Domain}' is in service", jobId, version.Id, job.Domain);
        foreach (var id in store.Prune(settings.KeepVersions)) logger.LogInformation("removed model version {Version} (retention {Keep})", id, settings.KeepVersions);
    }

    private sealed class GateRejectedException() : Exception("removing the domain changed a remaining path");
}
