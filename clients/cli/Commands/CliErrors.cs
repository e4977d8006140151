using DesMoe.Formats.Data;
using DesMoe.Torch.Tensors;
using Grpc.Core;

namespace DesMoe.Cli.Commands;

/// <summary>Turns the expected failures of a command into one clear line on stderr and a non-zero exit code.</summary>
internal static class CliErrors
{
    public const int Failure = 1;
    public const int Cancelled = 130;

    /// <summary>A synchronous command: its tensor work runs in one dispose scope on this thread (see <see cref="TensorLifetime"/>).</summary>
    public static int Run(Func<int> action) => RunAsync(() => Task.FromResult(TensorLifetime.Scoped(action))).GetAwaiter().GetResult();

    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or DataFormatException or KeyNotFoundException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return Failure;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
        {
            Console.Error.WriteLine($"error: {Describe(e)}");
            return Failure;
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException)
        {
            Console.Error.WriteLine("cancelled");
            return Cancelled;
        }
    }

    private static string Describe(RpcException e) => e.StatusCode switch
    {
        StatusCode.Unavailable => $"server unavailable ({e.Status.Detail})",
        StatusCode.Unauthenticated => $"unauthenticated: {e.Status.Detail} (pass --admin-token or set DESMOE_ADMIN_TOKEN)",
        _ => $"{e.StatusCode}: {e.Status.Detail}",
    };
}
