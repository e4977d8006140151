namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>A row on the learning-forgetting plane: what it gained downstream and lost in general, in points against untuned.</summary>
public sealed record FrontierPoint(string Method, double RelativeRate, bool Tuned, double DownstreamGain, double GeneralLoss)
{
    /// <summary>The row's label on the plane: method, with its setting and whether it routes by label.</summary>
    public static string Label(PaperRow row) => row.Setting == PaperSetting.PerDomain ? $"{row.Method} (per domain)" : row.Method;

    /// <summary>The first seed's rows over all domains, each against the untuned row.</summary>
    public static IReadOnlyList<FrontierPoint> Of(IReadOnlyList<PaperRow> rows, int seed)
    {
        var untuned = rows.Single(r => r.Setting == PaperSetting.Untuned);
        int full = untuned.Domains.Count;
        return rows.Where(r => r.Setting != PaperSetting.Untuned && r.Seed == seed && r.Domains.Count == full && !ComparedMethods.Ablations.Contains(r.Method))
            .Select(r => new FrontierPoint(Label(r), r.RelativeRate, r.Tuned, 100 * (r.DomainAverage - untuned.DomainAverage),
                100 * (untuned.General.Average - r.General.Average)))
            .ToList();
    }

    /// <summary>Whether this point has both more downstream gain and less general loss than <paramref name="other"/>.</summary>
    public bool Dominates(FrontierPoint other) => DownstreamGain > other.DownstreamGain && GeneralLoss < other.GeneralLoss;

    /// <summary>The points that no other of <paramref name="points"/> beats on both axes, by increasing general loss.</summary>
    public static IReadOnlyList<FrontierPoint> ParetoFront(IEnumerable<FrontierPoint> points)
    {
        var list = points.ToList();
        return list.Where(p => !list.Any(q => q.Dominates(p))).OrderBy(p => p.GeneralLoss).ThenBy(p => p.DownstreamGain).ToList();
    }
}
