using System.Diagnostics;
using DesMoe.Formats.Files;
using DesMoe.Formats.Data;
using DesMoe.Server.Jobs;
using DesMoe.Worker;
using DesMoe.WorkerProtocol;
using DesMoe.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace DesMoe.Tests.Faults;

public sealed class WorkerLifetimeTests
{
    [Fact]
    public void A_restarted_server_stops_a_worker_of_its_previous_life_and_leaves_other_processes_alone()
    {
        using var temp = new TempDirectory();
        var request = Path.Combine(temp.Path, "worker-request.json");
        // Stands in for a worker: its command line names the worker command and the job's request file, as a real one does.
        using var orphan = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", "sleep 300", WorkerCommands.Adapt, request } })!;
        var pidFile = Path.Combine(temp.Path, "worker.pid");
        File.WriteAllText(pidFile, $"{orphan.Id}\n{request}");
        // Until the child has exec'd, /proc/<pid>/cmdline is still the forking test host's: wait for the shell's.
        var exec = Stopwatch.StartNew();
        while (!OrphanWorkers.IsWorker(orphan.Id, request) && exec.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
        Assert.True(OrphanWorkers.IsWorker(orphan.Id, request));

        Assert.Equal(orphan.Id, OrphanWorkers.Stop(pidFile, NullLogger.Instance));
        Assert.True(orphan.WaitForExit(5000), "the orphan worker was not stopped");
        Assert.False(File.Exists(pidFile));

        // A reused pid that is not a worker for that request is not touched.
        File.WriteAllText(pidFile, $"{Environment.ProcessId}\n{request}");
        Assert.Null(OrphanWorkers.Stop(pidFile, NullLogger.Instance));
    }

    [Fact]
    public void A_worker_whose_server_no_longer_owns_the_store_writes_nothing()
    {
        using var temp = new TempDirectory();
        var split = DatasetSplit.Create(DomainCatalog.Get("intent"), 40, 8, seed: 2);
        var train = Path.Combine(temp.Path, "train.jsonl");
        var eval = Path.Combine(temp.Path, "eval.jsonl");
        Jsonl.Write(train, split.Train);
        Jsonl.Write(eval, split.Eval);
        var staging = Directory.CreateDirectory(Path.Combine(temp.Path, "v0002.saving-x")).FullName;
        var owner = Path.Combine(temp.Path, "owner");
        File.WriteAllText(owner, "token-of-the-restarted-server");
        var request = new AdaptRequest
        {
            ParentModelFolder = BundledModel.StringSkillsFolder, Domain = "intent", TrainFile = train, EvalFile = eval, EarlierEvalFiles = new Dictionary<string, string>(),
            GeneralEvalExamples = 10, Steps = 2, BatchSize = 4, LearningRate = 3e-3, Threads = 1, MaxAllowedDrop = 1.0, OutputFolder = staging,
            OwnerFile = owner, OwnerToken = "token-of-the-server-that-died",
        };

        var refused = Assert.Throws<InvalidOperationException>(() => AdaptationWorker.Execute(request, _ => { }));
        Assert.Contains("no longer owns", refused.Message);
        Assert.Empty(Directory.GetFileSystemEntries(staging));
    }
}
