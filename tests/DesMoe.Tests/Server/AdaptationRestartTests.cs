using System.Text.Json;
using System.Text.Json.Nodes;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using DesMoe.Tests.Support;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Server;

public sealed class AdaptationRestartTests
{
    [Fact]
    public async Task A_restart_mid_job_leaves_a_consistent_state_and_queued_jobs_run_after_it()
    {
        using var data = new TempDirectory();
        var intent = DatasetSplit.Create(DomainCatalog.Get("intent"), 400, 30, seed: 2);
        var translation = DatasetSplit.Create(DomainCatalog.Get("translation"), 400, 30, seed: 2);
        string running, queued;

        await using (var first = await LoopbackServer.StartAsync(data.Path))
        {
            running = (await first.Admin.AddDomainAsync("intent", intent.Train, intent.Eval, steps: 5000)).Id;
            queued = (await first.Admin.AddDomainAsync("translation", translation.Train, translation.Eval, steps: 20)).Id;
            var duplicate = await Assert.ThrowsAsync<RpcException>(() => first.Admin.AddDomainAsync("intent", intent.Train));
            Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);
            await WaitFor(first, running, j => j.State == JobState.Training && j.Progress?.Step > 0);
            Assert.Equal(JobState.Queued, (await first.Admin.GetJobAsync(new JobRequest { JobId = queued })).State);
        }

        // A crash (not a clean stop) would leave the job marked as running and maybe a version it wrote but never served.
        var store = Directory.GetDirectories(Path.Combine(data.Path, "models")).Single();
        var jobFile = Path.Combine(store, "jobs", running, "job.json");
        var record = JsonNode.Parse(File.ReadAllText(jobFile))!;
        Assert.Equal("Failed", record["status"]!.GetValue<string>()); // a clean stop already settles it
        record["status"] = "Training";
        File.WriteAllText(jobFile, record.ToJsonString());
        var orphan = Path.Combine(store, "versions", "v0002");
        Directory.CreateDirectory(orphan);
        File.WriteAllText(Path.Combine(orphan, "version.json"), JsonSerializer.Serialize(new { id = "v0002", parent = "v0001", job_id = running, onnx = "onnx", domains = new[] { "intent" } }));

        await using var second = await LoopbackServer.StartAsync(data.Path);
        var failed = await second.Admin.GetJobAsync(new JobRequest { JobId = running });
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Contains("server stopped", failed.Message);
        Assert.False(Directory.Exists(orphan) && File.ReadAllText(Path.Combine(orphan, "version.json")).Contains(running));
        Assert.Equal("v0001", (await second.Client.GetModelInfoAsync(new GetModelInfoRequest())).ModelVersion);

        var resumed = (await second.Admin.WatchToEndAsync(queued, TimeSpan.FromMinutes(5)))[^1];
        Assert.True(resumed.State is JobState.Succeeded or JobState.Rejected, $"{resumed.State}: {resumed.Message}");
        var served = (await second.Client.GetModelInfoAsync(new GetModelInfoRequest())).ModelVersion;
        Assert.Equal(resumed.State == JobState.Succeeded ? resumed.ResultVersion : "v0001", served);
    }

    private static async Task WaitFor(LoopbackServer server, string jobId, Func<Job, bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var call = server.Admin.WatchJob(new JobRequest { JobId = jobId }, cancellationToken: timeout.Token);
        await foreach (var job in call.ResponseStream.ReadAllAsync(timeout.Token))
            if (condition(job)) return;
        Assert.Fail($"job {jobId} finished before the condition held");
    }
}
