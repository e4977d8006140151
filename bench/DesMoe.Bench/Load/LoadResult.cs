namespace DesMoe.Bench.Load;

/// <summary>What one load level measured: completed streams, tokens, wall time and the latency distributions.</summary>
public sealed record LoadResult(
    int Clients,
    int CompletedRequests,
    int FailedRequests,
    long Tokens,
    TimeSpan Wall,
    LatencySummary TimeToFirstToken,
    LatencySummary InterToken,
    IReadOnlyDictionary<string, int> Failures)
{
    public double TokensPerSecond => Tokens / Wall.TotalSeconds;
    public double RequestsPerSecond => CompletedRequests / Wall.TotalSeconds;
}
