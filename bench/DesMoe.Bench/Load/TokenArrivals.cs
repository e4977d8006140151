using System.Diagnostics;

namespace DesMoe.Bench.Load;

/// <summary>
/// When one streamed request's tokens reach the client: the time from sending to the first token, and the gaps
/// between tokens after it. Tokens that arrive in one message arrive together, so each beyond the first in a message
/// adds a gap of 0 (a message carries every token decoded since the last one).
/// </summary>
public sealed class TokenArrivals
{
    private long _last;

    /// <summary>When the request was sent (this object's creation), a <see cref="Stopwatch"/> timestamp.</summary>
    public long Sent { get; } = Stopwatch.GetTimestamp();

    public double? FirstTokenMs { get; private set; }

    public List<double> Gaps { get; } = [];

    /// <summary>Records <paramref name="tokens"/> arriving now (none: nothing happened).</summary>
    /// <returns>the time to the first token when these are the first, else null</returns>
    public double? Arrived(int tokens)
    {
        if (tokens == 0) return null;
        long now = Stopwatch.GetTimestamp();
        double? first = null;
        if (_last == 0) FirstTokenMs = first = Stopwatch.GetElapsedTime(Sent, now).TotalMilliseconds;
        else Gaps.Add(Stopwatch.GetElapsedTime(_last, now).TotalMilliseconds);
        for (int t = 1; t < tokens; t++) Gaps.Add(0);
        _last = now;
        return first;
    }
}
