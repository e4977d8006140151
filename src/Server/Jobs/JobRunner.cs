using System.Threading.Channels;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;
using DesMoe.WorkerProtocol;

namespace DesMoe.Server.Jobs;

/// <summary>
/// Runs adaptation jobs one at a time, in submission order, on a background thread. On start it settles what a
/// previous run of the server left: queued jobs are queued again; a job that was running either finished its swap
/// (the current version is its result) or is marked failed, and any version it wrote but never served is removed.
/// </summary>
public sealed class JobRunner(JobStore jobs, ModelStore store, AdaptationPipeline pipeline, RemovalPipeline removal, AdaptationSettings settings, ILogger<JobRunner> logger)
    : BackgroundService
{
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>();
    private readonly object _lock = new();
    private (string Id, CancellationTokenSource Cancel)? _running;

    /// <summary>Whether a job is being run now.</summary>
    public bool IsBusy
    {
        get
        {
            lock (_lock) return _running is not null;
        }
    }

    public void Enqueue(string jobId) => _queue.Writer.TryWrite(jobId);

    /// <summary>Cancels a queued job at once, or a running one at its next step; returns the job as it stands.</summary>
    public JobRecord Cancel(string jobId)
    {
        var job = jobs.Get(jobId);
        if (job.IsFinished) return job;
        lock (_lock)
        {
            if (_running is { } r && r.Id == jobId)
            {
                r.Cancel.Cancel();
                return jobs.Get(jobId);
            }
        }
        return jobs.Update(jobId, j => j.IsFinished ? j : j with { Status = JobStatus.Cancelled, Message = "cancelled before it started" });
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!settings.Enabled) return Task.CompletedTask; // a serving-only replica leaves the shared jobs to the adapting one
        Recover();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await foreach (var id in _queue.Reader.ReadAllAsync(stopping))
        {
            if (stopping.IsCancellationRequested) break; // queued jobs stay queued and resume on the next start
            if (!jobs.TryGet(id, out var job) || job.Status != JobStatus.Queued) continue;
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            lock (_lock) _running = (id, cancel);
            try
            {
                if (job.Kind == JobKind.RemoveDomain) await removal.RunAsync(id, cancel.Token);
                else await pipeline.RunAsync(id, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                string reason = stopping.IsCancellationRequested ? "the server stopped during the job" : "cancelled";
                jobs.Update(id, j => j.IsFinished ? j : j with { Status = stopping.IsCancellationRequested ? JobStatus.Failed : JobStatus.Cancelled, Message = $"{reason}; the served model was not changed" });
            }
            catch (Exception e)
            {
                logger.LogError(e, "job {Job} failed", id);
                jobs.Update(id, j => j.IsFinished ? j : j with { Status = JobStatus.Failed, Message = e.Message });
            }
            finally
            {
                lock (_lock) _running = null;
            }
        }
    }

    private void Recover()
    {
        // A worker of the previous life dies with it (ParentWatch); this makes sure before anything is cleaned up.
        foreach (var pidFile in jobs.WorkerPidFiles()) OrphanWorkers.Stop(pidFile, logger);
        store.RemoveStaleStaging(); // again: an orphan stopped just now may have written after the store opened
        var currentId = store.CurrentIdOrNull;
        string? currentJob = currentId is null || store.LoadError(currentId) is not null ? null : store.Versions().FirstOrDefault(v => v.Id == currentId)?.JobId;
        foreach (var job in jobs.All().Reverse())
        {
            if (job.Status == JobStatus.Queued)
            {
                Enqueue(job.Id);
                continue;
            }
            if (!job.IsRunning) continue;
            if (currentJob == job.Id)
            {
                jobs.Update(job.Id, j => j with { Status = JobStatus.Succeeded, ResultVersion = currentId!, Message = $"{currentId} is in service" });
                continue;
            }
            foreach (var orphan in store.Versions().Where(v => v.JobId == job.Id && v.Id != currentId)) store.Delete(orphan.Id);
            jobs.Update(job.Id, j => j with { Status = JobStatus.Failed, Message = $"the server stopped while the job was {job.Status.ToString().ToLowerInvariant()}; the served model was not changed" });
            logger.LogWarning("job {Job} was {Status} when the server stopped; marked failed", job.Id, job.Status);
        }
    }
}
