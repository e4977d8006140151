using System.Diagnostics;
using System.Text;
using System.Text.Json;
using DesMoe.Formats.Files;
using DesMoe.WorkerProtocol;

namespace DesMoe.Server.Jobs;

/// <summary>
/// Runs one command of the adaptation worker executable (<see cref="WorkerLocator"/>) in a child process and relays
/// its events. The child inherits this server's environment (the fault points among it). Its standard input is a
/// pipe this process holds and never writes: its closing tells the worker the server is gone (the worker's
/// ParentWatch). While it runs, the child's pid is written to <c>pidFile</c> (when given), so a restarted server can
/// find a worker of its previous life (<see cref="OrphanWorkers"/>).
/// </summary>
public static class WorkerProcess
{
    /// <param name="worker">the worker's assembly (<c>DesMoe.Worker.dll</c>) or app host</param>
    /// <param name="command">one of <see cref="WorkerCommands"/></param>
    /// <param name="request">written as JSON to <paramref name="requestPath"/>, which the command line names</param>
    public static async Task RunAsync<TRequest>(string worker, string command, TRequest request, string requestPath, string? pidFile,
        Action<WorkerEvent> onEvent, ILogger logger, CancellationToken cancellation)
    {
        await File.WriteAllTextAsync(requestPath, JsonSerializer.Serialize(request), cancellation);
        var start = StartInfo(worker, command, requestPath);
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
            if (pidFile is not null) AtomicFile.WriteAllText(pidFile, $"{process.Id}\n{requestPath}");
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
            if (pidFile is not null) File.Delete(pidFile);
        }
        if (process.ExitCode != 0)
        {
            string detail;
            lock (errors) detail = errors.ToString().Trim();
            throw new InvalidOperationException($"the adaptation worker ({command}) failed (exit code {process.ExitCode}): {(detail.Length > 0 ? detail : "no message")}");
        }
    }

    /// <summary>The worker's app host when there is one beside its assembly, else <c>dotnet DesMoe.Worker.dll</c>.</summary>
    private static ProcessStartInfo StartInfo(string worker, string command, string requestPath)
    {
        bool isAssembly = worker.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var appHost = isAssembly ? Path.ChangeExtension(worker, OperatingSystem.IsWindows() ? ".exe" : null) : worker;
        var start = File.Exists(appHost)
            ? new ProcessStartInfo(appHost)
            : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet") { ArgumentList = { worker } };
        start.ArgumentList.Add(command);
        start.ArgumentList.Add(requestPath);
        start.RedirectStandardInput = true; // never written: its end-of-file means the server is gone
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        return start;
    }
}
