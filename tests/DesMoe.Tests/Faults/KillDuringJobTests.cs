using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using DesMoe.WorkerProtocol;
using Xunit;

namespace DesMoe.Tests.Faults;

/// <summary>
/// <c>kill -9</c> of the server at each moment of an AddDomain job, then a restart: the server serves, its version
/// list equals the disk, nothing half-written is left, no adaptation worker outlives its server, and the job's state
/// says what happened.
/// </summary>
public sealed class KillDuringJobTests
{
    [Theory]
    [InlineData(FaultPoints.WorkerTraining)]
    [InlineData(FaultPoints.WorkerEvaluating)]
    [InlineData(FaultPoints.WorkerExporting)]
    [InlineData(FaultPoints.VersionRenamed)]
    [InlineData(FaultPoints.VersionSwapped)]
    public async Task A_server_killed_mid_job_restarts_consistent_and_its_worker_dies_with_it(string point)
    {
        using var data = new TempDirectory();
        var intent = DatasetSplit.Create(DomainCatalog.Get("intent"), 200, 20, seed: 4);
        string jobId;
        await using (var doomed = await ServerProcess.StartAsync(data.Path, new Dictionary<string, string> { [FaultPoints.HaltVariable] = point }))
        {
            jobId = (await doomed.Admin.AddDomainAsync("intent", intent.Train, intent.Eval, steps: 12)).Id;
            await doomed.WaitForFaultPointAsync(point, TimeSpan.FromMinutes(3));
            if (point == FaultPoints.WorkerTraining) await AssertJobGaugesAreLabelledJobId(doomed, jobId);
            bool inWorker = point.StartsWith("worker-", StringComparison.Ordinal);
            Assert.Equal(inWorker, StoreOnDisk.Workers(data.Path).Count == 1);
            doomed.KillHard();
            // The worker notices within moments that its server is gone, and stops without writing anything.
            Assert.Empty(await StoreOnDisk.WorkersAfter(data.Path, TimeSpan.FromSeconds(10)));
        }

        await using var restarted = await ServerProcess.StartAsync(data.Path);
        await StoreOnDisk.AssertConsistent(restarted.Admin, data.Path);
        var job = await restarted.Admin.GetJobAsync(new JobRequest { JobId = jobId });
        var info = await restarted.Client.GetModelInfoAsync(new GetModelInfoRequest());
        if (point == FaultPoints.VersionSwapped)
        {
            // current had moved: the new version is what the restarted server serves, and the job says so.
            Assert.Equal(JobState.Succeeded, job.State);
            Assert.Equal(job.ResultVersion, info.ModelVersion);
            Assert.Equal(["v0001", "v0002"], StoreOnDisk.Versions(data.Path));
        }
        else
        {
            Assert.Equal(JobState.Failed, job.State);
            Assert.Contains("server stopped", job.Message);
            Assert.Equal("v0001", info.ModelVersion);
            Assert.Equal(["v0001"], StoreOnDisk.Versions(data.Path));
        }
        var reply = await restarted.Client.GenerateAsync(new GenerateRequest { Text = "reverse hello" });
        Assert.Equal(info.ModelVersion, reply.ModelVersion);
        if (info.ModelVersion == "v0001") Assert.Equal("olleh", reply.Text); // the base model, as before the job
        else Assert.NotEmpty(reply.TokenIds);
    }

    /// <summary>
    /// Prometheus attaches "job" and "instance" to every series it scrapes and renames a clashing exported label to
    /// "exported_job"; the running job's gauges must therefore carry job_id, and no series may use a reserved name.
    /// </summary>
    private static async Task AssertJobGaugesAreLabelledJobId(ServerProcess server, string jobId)
    {
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"{server.MetricsAddress}/metrics");
        Assert.Matches($"desmoe_adaptation_job_progress(_ratio)?\\{{[^}}]*job_id=\"{jobId}\"", metrics);
        foreach (var line in metrics.Split('\n').Where(l => l.StartsWith("desmoe_", StringComparison.Ordinal) && l.Contains('{')))
            Assert.DoesNotMatch("[{,](job|instance|__[a-z_]*)=", line);
    }
}
