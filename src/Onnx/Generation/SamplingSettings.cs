namespace DesMoe.Onnx.Generation;

/// <summary>How the next token is picked: greedy when <see cref="Temperature"/> is 0, otherwise sampled.</summary>
/// <param name="Temperature">0 = greedy; otherwise logits are divided by it (0 &lt; t &lt;= 10)</param>
/// <param name="TopK">keep the k most likely tokens; 0 = off</param>
/// <param name="TopP">keep the smallest set of tokens whose probability reaches p; 0 or 1 = off</param>
public sealed record SamplingSettings(float Temperature = 0, int TopK = 0, float TopP = 0)
{
    public const float MaxTemperature = 10;

    public static SamplingSettings Greedy { get; } = new();

    public bool IsGreedy => Temperature == 0;

    /// <summary>Problems with the values, each naming the field; empty when valid.</summary>
    public IReadOnlyList<string> Problems() => FieldProblems().Select(p => p.Message).ToList();

    /// <summary>The same problems with the field each is about, for refusals that point at the field.</summary>
    public IReadOnlyList<(string Field, string Message)> FieldProblems()
    {
        var problems = new List<(string, string)>();
        if (!float.IsFinite(Temperature) || Temperature < 0 || Temperature > MaxTemperature)
            problems.Add(("temperature", $"temperature must be between 0 and {MaxTemperature} (got {Temperature})"));
        if (TopK < 0) problems.Add(("top_k", $"top_k must not be negative (got {TopK})"));
        if (!float.IsFinite(TopP) || TopP < 0 || TopP > 1) problems.Add(("top_p", $"top_p must be between 0 and 1 (got {TopP})"));
        return problems;
    }
}
