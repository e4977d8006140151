namespace DesMoe.Formats.Evaluation;

/// <summary>
/// ROUGE-L (Lin, 2004): the longest common subsequence of candidate and reference words, as
/// P = LCS/|candidate|, R = LCS/|reference| and F1 = 2PR/(P+R), 0 when either side has no words. Words are runs of
/// letters and digits, lower-cased, as in the reference implementation's default tokenizer (rouge-score without
/// stemming), so punctuation and case do not count; unlike it, any Unicode letter counts (rouge-score keeps only
/// a-z and 0-9, which would erase non-English text).
/// </summary>
public static class RougeL
{
    public readonly record struct Score(double Precision, double Recall, double F1);

    public static Score Compute(string candidate, string reference)
    {
        var c = Tokens(candidate);
        var r = Tokens(reference);
        if (c.Count == 0 || r.Count == 0) return new Score(0, 0, 0);
        int lcs = LongestCommonSubsequence(c, r);
        if (lcs == 0) return new Score(0, 0, 0);
        double precision = lcs / (double)c.Count, recall = lcs / (double)r.Count;
        return new Score(precision, recall, 2 * precision * recall / (precision + recall));
    }

    /// <summary>The F1 of <see cref="Compute"/>, the number usually reported.</summary>
    public static double F1(string candidate, string reference) => Compute(candidate, reference).F1;

    /// <summary>Lower-cased runs of letters and digits.</summary>
    public static IReadOnlyList<string> Tokens(string text)
    {
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0) start = i;
            else if (!inWord && start >= 0) { tokens.Add(text[start..i].ToLowerInvariant()); start = -1; }
        }
        return tokens;
    }

    /// <summary>Length of the longest common subsequence, by dynamic programming over two rows (O(|a|·|b|) time, O(|b|) memory).</summary>
    public static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++)
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }
}
