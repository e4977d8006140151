using System.Diagnostics;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using DesMoe.WorkerProtocol;
using Xunit;
using Xunit.Abstractions;

namespace DesMoe.Tests.Faults;

/// <summary>
/// The disk fills up while a job writes its new version. On a machine that lets the tests mount a small tmpfs (root,
/// as CI runs) the data directory lives on one and really runs out of space; elsewhere the write failure is
/// injected at the same place (<see cref="FaultPoints.FailVariable"/>). Either way the job fails naming the cause,
/// nothing half-written stays, and the server goes on serving the version it had.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_full_disk_while_writing_the_new_version_fails_the_job_and_leaves_the_store_as_it_was()
    {
        using var scratch = new TempDirectory();
        var data = Path.Combine(scratch.Path, "data");
        Directory.CreateDirectory(data);
        bool mounted = Run("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", data) == 0;
        output.WriteLine(mounted ? "data directory on a 48 MiB tmpfs" : "no tmpfs mount here: injecting the write failure instead");
        try
        {
            var faults = mounted ? null : new Dictionary<string, string> { [FaultPoints.FailVariable] = FaultPoints.WorkerExporting };
            await using var server = await ServerProcess.StartAsync(data, faults);
            if (mounted)
            {
                // Leave about 2 MiB: the new checkpoint alone is 8 MiB.
                var free = new DriveInfo(data).AvailableFreeSpace;
                File.WriteAllBytes(Path.Combine(data, "filler"), new byte[Math.Max(0, free - (2L << 20))]); // tmpfs allocates on write
            }
            var intent = DatasetSplit.Create(DomainCatalog.Get("intent"), 200, 20, seed: 4);
            var job = (await server.Admin.AddDomainAsync("intent", intent.Train, intent.Eval, steps: 8)).Id;
            var end = (await server.Admin.WatchToEndAsync(job, TimeSpan.FromMinutes(4)))[^1];

            Assert.Equal(JobState.Failed, end.State);
            Assert.Contains(mounted ? "No space left on device" : "injected write failure", end.Message);
            if (mounted) File.Delete(Path.Combine(data, "filler"));
            await StoreOnDisk.AssertConsistent(server.Admin, data);
            Assert.Equal(["v0001"], StoreOnDisk.Versions(data));
            Assert.Equal("olleh", (await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse hello" })).Text);
        }
        finally
        {
            if (mounted) Run("umount", "-l", data);
        }
    }

    private static int Run(string file, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in arguments) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1; // no such command
        }
    }
}
