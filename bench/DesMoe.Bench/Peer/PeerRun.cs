using DesMoe.Bench.Load;

namespace DesMoe.Bench.Peer;

/// <summary>
/// One engine at one concurrency decoding the whole prompt list: each prompt's new tokens (in prompt order), the
/// client-side time to first token per stream and the gaps between tokens, and the wall time of the whole list.
/// </summary>
public sealed record PeerRun(string Engine, int Streams, IReadOnlyList<IReadOnlyList<int>> Outputs, LatencySummary TimeToFirstToken,
    LatencySummary InterToken, TimeSpan Wall, double InterTokenMeanMs)
{
    public long Tokens => Outputs.Sum(o => (long)o.Count);
    public double TokensPerSecond => Tokens / Wall.TotalSeconds;

    /// <summary>Prompts whose tokens equal <paramref name="reference"/>'s, and the first that does not (index, position), if any.</summary>
    public (int Matched, (int Prompt, int Position)? FirstMismatch) CompareTo(PeerRun reference)
    {
        int matched = 0;
        (int, int)? first = null;
        for (int p = 0; p < Outputs.Count; p++)
        {
            var (a, b) = (Outputs[p], reference.Outputs[p]);
            int at = Enumerable.Range(0, Math.Min(a.Count, b.Count)).FirstOrDefault(i => a[i] != b[i], -1);
            if (at < 0 && a.Count == b.Count) matched++;
            else first ??= (p, at < 0 ? Math.Min(a.Count, b.Count) : at);
        }
        return (matched, first);
    }
}

/// <summary>The GenAI side of <c>desmoe-bench peer</c>: the prompt list one stream at a time, and in static batches.</summary>
public static class GenAiRuns
{
    public static PeerRun SingleStream(GenAiPeer peer, IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens) => Batched(peer, prompts, newTokens, 1);

    /// <summary>Consecutive batches of <paramref name="batch"/> prompts (the last may be smaller); each batch's TTFT counts once per stream in it.</summary>
    public static PeerRun Batched(GenAiPeer peer, IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens, int batch)
    {
        var outputs = new List<IReadOnlyList<int>>(prompts.Count);
        var firstToken = new List<double>();
        var gaps = new List<double>();
        var wall = TimeSpan.Zero;
        foreach (var chunk in prompts.Chunk(batch))
        {
            var decode = peer.GenerateBatch(chunk, newTokens);
            outputs.AddRange(decode.Tokens);
            firstToken.AddRange(Enumerable.Repeat(decode.TimeToFirstTokenMs, chunk.Length));
            gaps.AddRange(decode.InterTokenMs);
            wall += decode.Wall;
        }
        return new PeerRun(batch == 1 ? "ONNX Runtime GenAI" : "ONNX Runtime GenAI, static batch", batch, outputs,
            LatencySummary.Of(firstToken), LatencySummary.Of(gaps), wall, gaps.Count > 0 ? gaps.Average() : double.NaN);
    }
}
