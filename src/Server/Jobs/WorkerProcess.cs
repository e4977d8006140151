using System.Diagnostics;
using System.Text;
using System.Text.Json;
using DesMoe.Core.Checkpoints;

namespace DesMoe.Server.Jobs;

/// <summary>
/// Runs <see cref="AdaptationWorker"/> in a child process of this server's own executable and relays its events.
/// The child's standard input is a pipe this process holds and never writes: its closing tells the worker the server
/// is gone (<see cref="ParentWatch"/>). The child's pid is written to <paramref name="pidFile"/> while it runs, so a
/// restarted server can find a worker of its previous life (<see cref="OrphanWorkers"/>).
/// </summary>
public static class WorkerProcess
{
    public static async Task RunAsync(WorkerRequest request, string requestPath, string pidFile, Action<WorkerEvent> onEvent, ILogger logger, CancellationToken cancellation)
    {
        await File.WriteAllTextAsync(requestPath, JsonSerializer.Serialize(request), cancellation);
        var start = StartInfo(requestPath);
        using var process = new Process { StartInfo = start };
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (WorkerEvent.Parse(e.Data) is { } workerEvent) onEvent(workerEvent);
            else if (!string.IsNullOrWhiteSpace(e.Data)) logger.LogDebug("worker: {Line}", e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (errors) errors.AppendLine(e.Data);
        };
        if (!process.Start()) throw new InvalidOperationException($"could not start the adaptation worker ({start.FileName})");
        try
        {
            AtomicFile.WriteAllText(pidFile, $"{process.Id}\n{requestPath}");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await process.WaitForExitAsync(cancellation);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            process.WaitForExit(); // drains the redirected streams
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.StandardInput.Close();
            File.Delete(pidFile);
        }
        if (process.ExitCode != 0)
        {
            string detail;
            lock (errors) detail = errors.ToString().Trim();
            throw new InvalidOperationException($"the adaptation worker failed (exit code {process.ExitCode}): {(detail.Length > 0 ? detail : "no message")}");
        }
    }

    /// <summary>The server's app host when there is one next to its assembly, else <c>dotnet DesMoe.Server.dll</c>.</summary>
    private static ProcessStartInfo StartInfo(string requestPath)
    {
        var assembly = typeof(AdaptationWorker).Assembly.Location;
        var appHost = Path.Combine(Path.GetDirectoryName(assembly)!, Path.GetFileNameWithoutExtension(assembly) + (OperatingSystem.IsWindows() ? ".exe" : ""));
        var start = File.Exists(appHost)
            ? new ProcessStartInfo(appHost)
            : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet") { ArgumentList = { assembly } };
        start.ArgumentList.Add(AdaptationWorker.Command);
        start.ArgumentList.Add(requestPath);
        start.RedirectStandardInput = true; // never written: its end-of-file means the server is gone
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        return start;
    }
}
