using System.Text.Json;
using DesMoe.WorkerProtocol;

namespace DesMoe.Worker;

/// <summary>
/// The worker's command line, <c>DesMoe.Worker COMMAND REQUEST.json</c> (<see cref="WorkerCommands"/>), as the server's
/// WorkerProcess starts it: events go to stdout as <see cref="WorkerEvent"/> lines, an error's message to stderr.
/// Exit codes: 0 done, 1 failed (the message says why), 2 a command line the server never writes.
/// </summary>
public static class WorkerMain
{
    public static int Run(string[] args)
    {
        if (args is not [var command, var requestPath] || command is not (WorkerCommands.Adapt or WorkerCommands.RemoveDomain or WorkerCommands.Export))
        {
            Console.Error.WriteLine($"usage: DesMoe.Worker {WorkerCommands.Adapt}|{WorkerCommands.RemoveDomain}|{WorkerCommands.Export} REQUEST.json (it is started by the DesMoe server); got '{string.Join(' ', args)}'");
            return 2;
        }
        try
        {
            ParentWatch.Start();
            Action<WorkerEvent> emit = e => Console.Out.WriteLine(e.ToLine());
            if (command == WorkerCommands.Adapt) AdaptationWorker.Execute(Read<AdaptRequest>(requestPath), emit);
            else if (command == WorkerCommands.RemoveDomain) DomainRemovalWorker.Execute(Read<RemovalRequest>(requestPath), emit);
            else ExportWorker.Execute(Read<ExportRequest>(requestPath), emit);
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    private static T Read<T>(string path) =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} holds no {typeof(T).Name}");
}
