using System.Diagnostics;
using DesMoe.Bench.Load;
using DesMoe.Onnx.Generation;
using DesMoe.Server.Engine;

namespace DesMoe.Bench.Peer;

/// <summary>
/// The in-process server's engine driven directly, one stream, no gRPC: the same continuous-batching engine, KV
/// slots and sampling as a request to the server, without Kestrel, HTTP/2, the service layer or the client. Set
/// beside our gRPC single stream and GenAI's, it splits our gap into what the engine costs and what serving over
/// gRPC costs.
/// </summary>
public static class EngineStreams
{
    public const string Name = "our engine alone (no gRPC)";

    /// <param name="prompts">whole prompts (begin and separator tokens included), as the server's validator makes them</param>
    public static async Task<PeerRun> SingleStreamAsync(IGenerationEngine engine, IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens, CancellationToken cancellation)
    {
        var outputs = new IReadOnlyList<int>[prompts.Count];
        var firstToken = new List<double>();
        var gaps = new List<double>();
        var wall = Stopwatch.StartNew();
        for (int p = 0; p < prompts.Count; p++)
        {
            // Domain null is the plain router, what the server's "none" resolves to.
            var request = new GenerationRequest(prompts[p].ToList(), null, newTokens, SamplingSettings.Greedy, 0, [], IgnoreEndOfText: true);
            var tokens = new List<int>(newTokens);
            var arrivals = new TokenArrivals();
            await foreach (var step in engine.GenerateAsync(request, cancellation))
            {
                if (arrivals.Arrived(1) is { } firstMs) firstToken.Add(firstMs);
                tokens.Add(step.Token);
            }
            gaps.AddRange(arrivals.Gaps);
            outputs[p] = tokens;
        }
        wall.Stop();
        return new PeerRun(Name, 1, outputs, LatencySummary.Of(firstToken), LatencySummary.Of(gaps), wall.Elapsed, gaps.Count > 0 ? gaps.Average() : double.NaN);
    }
}
