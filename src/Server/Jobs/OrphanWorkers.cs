using System.Diagnostics;
using DesMoe.WorkerProtocol;

namespace DesMoe.Server.Jobs;

/// <summary>
/// Stops an adaptation worker that outlived the server that started it. A worker normally dies with its server
/// (the worker's ParentWatch); this is the restarted server making sure, from the pid file the previous life left,
/// before it cleans up what that worker may have written. A pid is only acted on when <c>/proc</c> shows it is
/// still that worker (its command line names the worker command and the job's request file), since pids are reused.
/// </summary>
public static class OrphanWorkers
{
    /// <summary>Kills the worker recorded in <paramref name="pidFile"/> if it still runs; returns its pid when it did.</summary>
    public static int? Stop(string pidFile, ILogger logger)
    {
        if (!File.Exists(pidFile)) return null;
        var lines = File.ReadAllLines(pidFile);
        File.Delete(pidFile);
        if (lines.Length < 2 || !int.TryParse(lines[0], out var pid)) return null;
        if (!IsWorker(pid, lines[1])) return null;
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(TimeSpan.FromSeconds(10));
            logger.LogWarning("stopped adaptation worker {Pid} left running by the previous server", pid);
            return pid;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return null; // it ended on its own meanwhile
        }
    }

    /// <summary>Whether process <paramref name="pid"/> is an adaptation worker for <paramref name="requestPath"/>.</summary>
    public static bool IsWorker(int pid, string requestPath)
    {
        var cmdline = $"/proc/{pid}/cmdline";
        try
        {
            var arguments = File.ReadAllText(cmdline).Split('\0');
            return (arguments.Contains(WorkerCommands.Adapt) || arguments.Contains(WorkerCommands.RemoveDomain)) && arguments.Contains(requestPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // no such process (or not ours to read)
        }
    }
}
