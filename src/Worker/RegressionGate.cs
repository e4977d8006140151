using DesMoe.WorkerProtocol;

namespace DesMoe.Worker;

/// <summary>
/// The regression gate's verdict: nothing the served model did may get worse by more than allowed, neither an earlier
/// domain nor general ability. Text probes (next-token accuracy) have their own, smaller limit: a language model's
/// next-token accuracy moves far less than an exact-match score for the same loss of ability.
/// </summary>
public static class RegressionGate
{
    /// <param name="before">protected scores before the job, by name (<see cref="GateScores.Measure"/>)</param>
    /// <param name="after">the same scores after it</param>
    /// <param name="newDomain">the new domain's held-out exact match after the job, and its examples</param>
    public static EvaluationRecord Judge(IReadOnlyDictionary<string, ProtectedScore> before, IReadOnlyDictionary<string, ProtectedScore> after,
        string domain, (double Accuracy, int Examples) newDomain, double maxAllowedDrop, double maxAllowedTextDrop)
    {
        var missing = before.Keys.Except(after.Keys).ToList();
        if (missing.Count > 0) throw new ArgumentException($"no score after the job for [{string.Join(", ", missing)}]", nameof(after));
        var scores = new List<ScoreRecord>();
        var reasons = new List<string>();
        foreach (var (name, was) in before)
        {
            double now = after[name].Score, limit = was.Text ? maxAllowedTextDrop : maxAllowedDrop;
            scores.Add(new ScoreRecord(name, was.Score, now, was.Examples));
            // The tolerance keeps a drop of exactly the allowed size, computed in floating point, allowed.
            if (was.Score - now > limit + 1e-12) reasons.Add($"{name} {was.Score:P1} -> {now:P1} (more than {limit:P1} lost)");
        }
        scores.Add(new ScoreRecord(domain, null, newDomain.Accuracy, newDomain.Examples));
        return new EvaluationRecord(scores, maxAllowedDrop, reasons.Count == 0)
        {
            Reasons = reasons, MaxAllowedTextDrop = before.Values.Any(s => s.Text) ? maxAllowedTextDrop : null,
        };
    }
}
