namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// The steps between two progress reports of an adaptation run: their mean loss, mean loss per domain, mean router
/// KL and training tokens/s. <see cref="Report"/> turns the window into an <see cref="AdaptationProgress"/> and starts the next one.
/// </summary>
internal sealed class ProgressWindow(IReadOnlyList<string> domains)
{
    private readonly double[] _domainLossSum = new double[domains.Count];
    private readonly int[] _domainLossCount = new int[domains.Count];
    private double _lossSum, _klSum;
    private int _steps;
    private long _tokens;
    private TimeSpan _start;

    public void AddStep(double loss, double routerKl, long tokens)
    {
        _lossSum += loss;
        _klSum += routerKl;
        _steps++;
        _tokens += tokens;
    }

    /// <summary>A loss that counts towards <paramref name="domain"/>'s mean (one per target token, or one per step).</summary>
    public void AddDomainLoss(int domain, double loss)
    {
        _domainLossSum[domain] += loss;
        _domainLossCount[domain]++;
    }

    public AdaptationProgress Report(int step, int totalSteps, TrainingPhase? phase, double distillationWeight, TimeSpan elapsed)
    {
        var perDomain = domains.Select((name, d) => (name, value: _domainLossCount[d] == 0 ? double.NaN : _domainLossSum[d] / _domainLossCount[d]))
            .ToDictionary(x => x.name, x => x.value);
        var report = new AdaptationProgress(step, totalSteps, phase, _lossSum / _steps, perDomain, _klSum / _steps, distillationWeight,
            _tokens / Math.Max(1e-9, (elapsed - _start).TotalSeconds), elapsed);
        Array.Clear(_domainLossSum);
        Array.Clear(_domainLossCount);
        _lossSum = _klSum = 0;
        _steps = 0;
        _tokens = 0;
        _start = elapsed;
        return report;
    }
}
