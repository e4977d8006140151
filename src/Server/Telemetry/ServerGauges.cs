using System.Diagnostics.Metrics;
using DesMoe.Server.Jobs;
using DesMoe.Server.Versions;

namespace DesMoe.Server.Telemetry;

/// <summary>
/// The gauges read from live state when a collector asks: queue depth, running batch, KV-cache memory, the model
/// version in service, and the running adaptation job's progress and loss. Their meter belongs to this server's
/// container, so a stopped server's gauges disappear with it.
/// </summary>
public sealed class ServerGauges
{
    public ServerGauges(IMeterFactory meters, ModelHost host, JobStore jobs, ModelStore store)
    {
        var meter = meters.Create(ServerTelemetry.Name);
        meter.CreateObservableGauge("desmoe.queue.depth", () => Stats(host).Waiting, "{request}", "Requests waiting for a batch slot");
        meter.CreateObservableGauge("desmoe.batch.active", () => Stats(host).Active, "{sequence}", "Sequences in the running batch");
        meter.CreateObservableGauge("desmoe.kv_cache.size", () => Stats(host).KvCacheBytes, "By", "Bytes held by the running sequences' KV caches");
        meter.CreateObservableGauge("desmoe.model.version", () => new Measurement<int>(1,
            new KeyValuePair<string, object?>("version", host.Version.Id),
            new KeyValuePair<string, object?>("domains", string.Join(",", host.Version.Domains))), "{version}", "The model version in service (value 1)");
        meter.CreateObservableGauge("desmoe.model.broken", () => store.Broken.Keys.Select(id => new Measurement<int>(1, new KeyValuePair<string, object?>("version", id))),
            "{version}", "Model versions that failed to load (value 1 each); the newest version that loads is served");
        meter.CreateObservableGauge("desmoe.adaptation.job.progress", () => Running(jobs).Select(j => new Measurement<double>(
            j.Progress is { TotalSteps: > 0 } p ? p.Step / (double)p.TotalSteps : 0, Tags(j))), "1", "Fraction of the running job's training steps done");
        meter.CreateObservableGauge("desmoe.adaptation.job.loss", () => Running(jobs).Where(j => j.Progress is not null)
            .Select(j => new Measurement<double>(j.Progress!.Loss, Tags(j))), "1", "The running job's latest training loss");
    }

    private static Engine.EngineStats Stats(ModelHost host)
    {
        using var lease = host.Acquire();
        return lease.Engine.Stats;
    }

    private static IEnumerable<JobRecord> Running(JobStore jobs) => jobs.All().Where(j => j.IsRunning);

    /// <summary>
    /// The job's labels. Not "job": Prometheus sets that one (and "instance") on every scraped series and renames
    /// a clashing exported label to "exported_job", so a query on job= would find the scrape job instead.
    /// </summary>
    private static KeyValuePair<string, object?>[] Tags(JobRecord job) =>
    [
        new("job_id", job.Id), new("domain", job.Domain), new("state", job.Status.ToString()), new("phase", job.Progress?.Phase ?? ""),
    ];
}
