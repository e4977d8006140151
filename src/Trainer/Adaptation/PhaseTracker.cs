using DesMoe.Formats.Experts;
namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// Tracks the current phase. Step counts from the <see cref="PhaseSchedule"/> are upper limits; with a stability
/// threshold, warm-up and stabilization also end as soon as the expert assignment recomputed from the matrix moves
/// by at most that distance (<see cref="ExpertAssignment.DistanceTo"/>) between two checks.
/// </summary>
public sealed class PhaseTracker(PhaseSchedule schedule, double? stabilityThreshold)
{
    private int _warmupEnd = schedule.WarmupSteps;
    private int _stabilizationEnd = schedule.WarmupSteps + schedule.StabilizationSteps;
    private ExpertAssignment? _lastChecked;

    public TrainingPhase Current { get; private set; } = schedule.WarmupSteps > 0 ? TrainingPhase.Warmup : TrainingPhase.Stabilization;

    /// <summary>What a checkpoint keeps of the tracker.</summary>
    public PhaseTrackerState State => new(Current, _warmupEnd, _stabilizationEnd, _lastChecked?.ToJson());

    public void Restore(PhaseTrackerState state, int numLayers, int numExperts)
    {
        Current = state.Current;
        _warmupEnd = state.WarmupEnd;
        _stabilizationEnd = state.StabilizationEnd;
        _lastChecked = state.LastChecked is null ? null : ExpertAssignment.Parse(state.LastChecked, numLayers, numExperts);
    }

    /// <summary>The phase for <paramref name="step"/>, after the step-count limits.</summary>
    public TrainingPhase At(int step)
    {
        if (step >= _warmupEnd && Current == TrainingPhase.Warmup) Current = TrainingPhase.Stabilization;
        if (schedule.Progressive && step >= _stabilizationEnd && Current == TrainingPhase.Stabilization) Current = TrainingPhase.Consolidation;
        return Current;
    }

    /// <summary>
    /// Feeds the assignment recomputed at <paramref name="step"/>; returns a reason when it ends the current phase early.
    /// </summary>
    public string? ObserveAssignment(int step, ExpertAssignment assignment)
    {
        var previous = _lastChecked;
        _lastChecked = assignment;
        if (stabilityThreshold is not { } threshold || previous is null || Current == TrainingPhase.Consolidation) return null;
        if (Current == TrainingPhase.Stabilization && !schedule.Progressive) return null;
        double distance = assignment.DistanceTo(previous);
        if (distance > threshold) return null;

        if (Current == TrainingPhase.Warmup)
        {
            _stabilizationEnd -= _warmupEnd - step; // stabilization keeps its length, moved earlier
            _warmupEnd = step;
        }
        else
        {
            _stabilizationEnd = step;
        }
        _lastChecked = null; // the next phase needs two fresh checks of its own
        return $"assignment moved {distance:P1} (at most {threshold:P1}): {Current} ends at step {step}";
    }
}

public sealed record PhaseTrackerState(TrainingPhase Current, int WarmupEnd, int StabilizationEnd, string? LastChecked);
