using System.Collections.Concurrent;
using System.Diagnostics;
using DesMoe.Protos.V1;
using Grpc.Core;

namespace DesMoe.Bench.Load;

/// <summary>One finished request: when it was sent (Stopwatch timestamp), its time to first token (null if none came) and its status.</summary>
public sealed record RequestOutcome(long Sent, double? TimeToFirstTokenMs, StatusCode Status);

/// <summary>The request every simulated client sends, varied by client and request number.</summary>
/// <param name="IgnoreEndOfText">every request decodes exactly MaxNewTokens tokens, so the figures do not depend on where the model stops</param>
/// <param name="Sampling">how the server picks tokens (null: greedy); each request gets its own seed</param>
public sealed record LoadRequest(IReadOnlyList<string> Prompts, IReadOnlyList<string> Domains, uint MaxNewTokens, bool IgnoreEndOfText = false,
    SamplingParams? Sampling = null);

/// <summary>
/// Drives a running server with N concurrent streaming clients, each sending its next request as soon as the last
/// one finished, for a bounded time; requests still running when the time is up are waited for and counted.
/// Times are taken on the client: time to first token from sending the request to the first chunk carrying a token,
/// inter-token latency between consecutive tokens of one stream.
/// </summary>
public sealed class LoadGenerator(IStreamTarget target, LoadRequest request)
{
    public LoadGenerator(Inference.InferenceClient client, LoadRequest request) : this(new GrpcStreamTarget(client), request)
    {
    }

    public string Protocol => target.Protocol;

    /// <param name="stop">ends the run early the same way the time limit does: no new requests, running ones finish</param>
    /// <param name="observe">sees every finished request (e.g. to attribute it to a phase of a scenario)</param>
    public async Task<LoadResult> RunAsync(int clients, TimeSpan duration, CancellationToken cancellation = default, CancellationToken stop = default,
        Action<RequestOutcome>? observe = null)
    {
        var firstToken = new ConcurrentBag<double>();
        var interToken = new ConcurrentBag<double>();
        var failures = new ConcurrentDictionary<string, int>();
        long tokens = 0;
        int completed = 0;
        var wall = Stopwatch.StartNew();

        async Task Client(int index)
        {
            for (int n = 0; wall.Elapsed < duration && !stop.IsCancellationRequested; n++)
            {
                cancellation.ThrowIfCancellationRequested();
                var message = new GenerateRequest
                {
                    Text = request.Prompts[(index + n * clients) % request.Prompts.Count],
                    Domain = request.Domains[(index + n) % request.Domains.Count],
                    MaxNewTokens = request.MaxNewTokens,
                    IgnoreEndOfText = request.IgnoreEndOfText,
                };
                if (request.Sampling is { } sampling)
                {
                    message.Sampling = sampling.Clone();
                    message.Sampling.Seed = (ulong)(index * 1_000_003L + n);
                }
                var arrivals = new TokenArrivals();
                try
                {
                    Interlocked.Add(ref tokens, await target.StreamAsync(message, arrivals, cancellation));
                    if (arrivals.FirstTokenMs is { } firstMs) firstToken.Add(firstMs);
                    foreach (var gap in arrivals.Gaps) interToken.Add(gap);
                    Interlocked.Increment(ref completed);
                    observe?.Invoke(new RequestOutcome(arrivals.Sent, arrivals.FirstTokenMs, StatusCode.OK));
                }
                catch (StreamFailedException e)
                {
                    failures.AddOrUpdate(e.Status.ToString(), 1, (_, count) => count + 1);
                    observe?.Invoke(new RequestOutcome(arrivals.Sent, null, e.Status));
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, clients).Select(i => Task.Run(() => Client(i), cancellation)));
        wall.Stop();
        return new LoadResult(clients, completed, failures.Values.Sum(), tokens, wall.Elapsed,
            LatencySummary.Of(firstToken), LatencySummary.Of(interToken), new Dictionary<string, int>(failures));
    }
}
