using System.Collections.Concurrent;
using System.Text.Json;
using DesMoe.Formats.Data;
using DesMoe.Formats.Files;

namespace DesMoe.Server.Jobs;

/// <summary>
/// Adaptation jobs on disk (<c>jobs/{id}/job.json</c> plus the uploaded <c>train.jsonl</c> and <c>eval.jsonl</c>) and
/// in memory, with a change signal that job watchers await.
/// </summary>
public sealed class JobStore
{
    private const string TrainFile = "train.jsonl";
    private const string EvalFile = "eval.jsonl";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly string _folder;
    private readonly ConcurrentDictionary<string, JobRecord> _jobs = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _changed = new();

    public JobStore(string folder)
    {
        _folder = folder;
        Directory.CreateDirectory(folder);
        foreach (var dir in Directory.GetDirectories(folder))
        {
            var file = Path.Combine(dir, JobRecord.FileName);
            if (File.Exists(file) && JsonSerializer.Deserialize<JobRecord>(File.ReadAllText(file)) is { } job) _jobs[job.Id] = job;
            else Directory.Delete(dir, recursive: true); // an upload that never became a job
        }
    }

    public IReadOnlyList<JobRecord> All() => _jobs.Values.OrderByDescending(j => j.Created).ThenByDescending(j => j.Id, StringComparer.Ordinal).ToList();

    public JobRecord Get(string id) => _jobs.TryGetValue(id, out var job) ? job : throw new KeyNotFoundException($"no job '{id}'");

    public bool TryGet(string id, out JobRecord job) => _jobs.TryGetValue(id, out job!);

    /// <summary>Stores the data, then the record: a job exists on disk only with its data complete.</summary>
    public JobRecord Create(JobRecord job, IReadOnlyList<Example> train, IReadOnlyList<Example> eval)
    {
        var dir = Path.Combine(_folder, job.Id);
        Directory.CreateDirectory(dir);
        Jsonl.Write(Path.Combine(dir, TrainFile), train);
        Jsonl.Write(Path.Combine(dir, EvalFile), eval);
        Save(job);
        return job;
    }

    /// <summary>Where the running job's worker pid is kept (see <see cref="OrphanWorkers"/>).</summary>
    public string WorkerPidFile(string id) => Path.Combine(_folder, id, "worker.pid");

    /// <summary>Every job folder's worker pid file, whatever state its job is in.</summary>
    public IEnumerable<string> WorkerPidFiles() => Directory.GetDirectories(_folder).Select(d => Path.Combine(d, "worker.pid")).Where(File.Exists);

    /// <summary>The job's stored training and held-out files.</summary>
    public (string Train, string Eval) DataFiles(string id) => (Path.Combine(_folder, id, TrainFile), Path.Combine(_folder, id, EvalFile));

    /// <summary>Applies <paramref name="change"/>, persists the result and wakes the watchers.</summary>
    public JobRecord Update(string id, Func<JobRecord, JobRecord> change)
    {
        lock (_changed)
        {
            var job = change(Get(id)) with { Updated = DateTimeOffset.UtcNow };
            Save(job);
            return job;
        }
    }

    /// <summary>Completes when the job next changes.</summary>
    public Task NextChange(string id, CancellationToken cancellation) =>
        _changed.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(cancellation);

    private void Save(JobRecord job)
    {
        AtomicFile.WriteAllText(Path.Combine(_folder, job.Id, JobRecord.FileName), JsonSerializer.Serialize(job, Json));
        _jobs[job.Id] = job;
        if (_changed.TryRemove(job.Id, out var waiters)) waiters.TrySetResult();
    }
}
