using DesMoe.Protos.V1;
using Grpc.Core;

namespace DesMoe.Bench.Load;

/// <summary>
/// Where the load generator's streaming requests go: the gRPC contract (<see cref="GrpcStreamTarget"/>) or the
/// OpenAI-compatible HTTP API (<see cref="HttpStreamTarget"/>), the same request either way.
/// </summary>
public interface IStreamTarget
{
    /// <summary>"grpc" or "http", for the report.</summary>
    string Protocol { get; }

    /// <summary>Streams one request, telling <paramref name="arrivals"/> when its tokens come.</summary>
    /// <returns>the tokens generated</returns>
    /// <exception cref="StreamFailedException">the server refused or failed the request (not a cancellation of ours)</exception>
    Task<long> StreamAsync(GenerateRequest request, TokenArrivals arrivals, CancellationToken cancellation);
}

/// <summary>A request the server refused or failed, with its status in gRPC's terms (HTTP statuses are mapped).</summary>
public sealed class StreamFailedException(StatusCode status, string message) : Exception(message)
{
    public StatusCode Status { get; } = status;
}

public sealed class GrpcStreamTarget(Inference.InferenceClient client) : IStreamTarget
{
    public string Protocol => "grpc";

    public async Task<long> StreamAsync(GenerateRequest request, TokenArrivals arrivals, CancellationToken cancellation)
    {
        long tokens = 0;
        try
        {
            using var call = client.GenerateStream(request, cancellationToken: cancellation);
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellation))
            {
                arrivals.Arrived(chunk.TokenIds.Count);
                tokens += chunk.TokenIds.Count;
            }
        }
        catch (RpcException e) when (!cancellation.IsCancellationRequested)
        {
            throw new StreamFailedException(e.StatusCode, e.Status.Detail);
        }
        return tokens;
    }
}
