namespace DesMoe.Formats.Evaluation;

/// <summary>
/// Prompts of different lengths laid out as one [batch, longest] block, left-padded so every row's last token is in
/// the last column. Positions count only real tokens, so each row decodes exactly as it would alone.
/// </summary>
public sealed record LeftPaddedBatch(int Batch, int Longest, long[] Ids, bool[] Mask, long[] Positions, long[] Lengths)
{
    public static LeftPaddedBatch Create(IReadOnlyList<IReadOnlyList<int>> prompts, int pad)
    {
        int batch = prompts.Count, longest = prompts.Max(p => p.Count);
        var ids = new long[batch * longest];
        var mask = new bool[batch * longest];
        var positions = new long[batch * longest];
        Array.Fill(ids, pad);
        for (int row = 0; row < batch; row++)
        {
            int offset = longest - prompts[row].Count;
            for (int t = 0; t < prompts[row].Count; t++)
            {
                ids[row * longest + offset + t] = prompts[row][t];
                mask[row * longest + offset + t] = true;
                positions[row * longest + offset + t] = t;
            }
        }
        return new LeftPaddedBatch(batch, longest, ids, mask, positions, prompts.Select(p => (long)p.Count).ToArray());
    }
}
