using System.Collections.Concurrent;
using System.Diagnostics;
using DesMoe.Bench.Load;
using DesMoe.Protos.V1;
using Grpc.Core;

namespace DesMoe.Bench.Peer;

/// <summary>
/// Our side of <c>desmoe-bench peer</c>: the prompt list through the server's GenerateStream with N streams open at
/// once, each taking the next prompt as soon as its last one finished. Every request is greedy, on the plain router
/// (domain "none": the path GenAI decodes, as it cannot feed domain ids) and decodes exactly the given tokens.
/// </summary>
public static class ServerStreams
{
    /// <param name="prompts">prompt tokens without the begin and separator tokens, which the server adds</param>
    public static async Task<PeerRun> RunAsync(Inference.InferenceClient client, IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens, int streams,
        CancellationToken cancellation)
    {
        var outputs = new IReadOnlyList<int>[prompts.Count];
        var firstToken = new ConcurrentBag<double>();
        var gaps = new ConcurrentBag<double>();
        int next = -1;
        var wall = Stopwatch.StartNew();

        async Task Stream()
        {
            for (int p = Interlocked.Increment(ref next); p < prompts.Count; p = Interlocked.Increment(ref next))
            {
                var request = new GenerateRequest
                {
                    TokenIds = new TokenIds { Ids = { prompts[p] } },
                    Domain = "none",
                    MaxNewTokens = (uint)newTokens,
                    IgnoreEndOfText = true,
                    Sampling = new SamplingParams { Temperature = 0 },
                };
                var tokens = new List<int>(newTokens);
                var arrivals = new TokenArrivals();
                using var call = client.GenerateStream(request, cancellationToken: cancellation);
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellation))
                {
                    if (arrivals.Arrived(chunk.TokenIds.Count) is { } firstMs) firstToken.Add(firstMs);
                    tokens.AddRange(chunk.TokenIds);
                }
                foreach (var gap in arrivals.Gaps) gaps.Add(gap);
                outputs[p] = tokens;
            }
        }

        await Task.WhenAll(Enumerable.Range(0, streams).Select(_ => Task.Run(Stream, cancellation)));
        wall.Stop();
        return new PeerRun("ours (gRPC, continuous batching)", streams, outputs, LatencySummary.Of(firstToken), LatencySummary.Of(gaps), wall.Elapsed,
            gaps.IsEmpty ? double.NaN : gaps.Average());
    }
}
