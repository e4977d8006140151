using DesMoe.Core.Data;

namespace DesMoe.Cli.Commands;

/// <summary>Turns the expected failures of a command into one clear line on stderr and a non-zero exit code.</summary>
internal static class CliErrors
{
    public const int Failure = 1;

    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or DataFormatException or KeyNotFoundException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return Failure;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return 130;
        }
    }
}
