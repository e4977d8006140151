namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>Where a comparison stands: jobs done of all, and the estimated time left for the whole run.</summary>
/// <param name="Fraction">work done, weighted by each job's cost (its steps plus its scoring)</param>
/// <param name="Remaining">estimated from the jobs run in this sitting (cached ones cost nothing); null before the first</param>
public sealed record ComparisonProgress(int JobsDone, int JobsTotal, int JobsCached, double Fraction, TimeSpan Elapsed, TimeSpan? Remaining, string Current)
{
    public override string ToString()
    {
        const int width = 30;
        int filled = (int)Math.Round(Math.Clamp(Fraction, 0, 1) * width);
        return $"[{new string('#', filled)}{new string('.', width - filled)}] {Fraction,4:P0} job {JobsDone}/{JobsTotal} ({JobsCached} cached) " +
               $"elapsed {Elapsed:hh\\:mm\\:ss} eta {(Remaining is { } r ? r.ToString(@"hh\:mm\:ss") : "--:--:--")}  {Current}";
    }
}
