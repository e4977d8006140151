using System.Diagnostics;

namespace DesMoe.Worker;

/// <summary>
/// Ends the adaptation worker the moment its server is gone. The server gives the worker a standard-input pipe that
/// only the server holds open and never writes to; however the server ends (a clean stop, a crash, <c>kill -9</c>),
/// the kernel closes that pipe and the read here returns end-of-file. The worker then kills itself at once, without
/// unwinding: nothing it might still write (a checkpoint, an export into a version folder) gets written after its
/// server is gone. PR_SET_PDEATHSIG would not do: it fires when the thread that started the child exits, and
/// .NET starts processes from pool threads that come and go.
/// </summary>
public static class ParentWatch
{
    public static void Start()
    {
        var watcher = new Thread(() =>
        {
            try
            {
                using var input = Console.OpenStandardInput();
                var buffer = new byte[64];
                while (input.Read(buffer, 0, buffer.Length) > 0) { }
            }
            catch (IOException)
            {
                // a broken pipe means the same as end-of-file
            }
            Console.Error.WriteLine("adaptation worker: the server is gone; stopping");
            Process.GetCurrentProcess().Kill();
        }) { IsBackground = true, Name = "parent-watch" };
        watcher.Start();
    }
}
