using DesMoe.Trainer.Adaptation;
using DesMoe.Formats.Experts;
using Xunit;

namespace DesMoe.Tests.Adaptation;

public class PhaseTrackerTests
{
    private static ExpertAssignment Assignment(params int[] experts) => new(["d"], 8, [[experts]]);

    [Fact]
    public void Without_a_threshold_the_step_counts_decide()
    {
        var tracker = new PhaseTracker(new PhaseSchedule(10, 20, 100), stabilityThreshold: null);
        Assert.Equal(TrainingPhase.Warmup, tracker.At(9));
        Assert.Null(tracker.ObserveAssignment(5, Assignment(1, 2)));
        Assert.Null(tracker.ObserveAssignment(9, Assignment(1, 2)));
        Assert.Equal(TrainingPhase.Stabilization, tracker.At(10));
        Assert.Equal(TrainingPhase.Consolidation, tracker.At(30));
    }

    [Fact]
    public void A_stable_assignment_ends_warm_up_early_and_stabilization_keeps_its_length()
    {
        var tracker = new PhaseTracker(new PhaseSchedule(40, 30, 100), stabilityThreshold: 0.1);
        Assert.Null(tracker.ObserveAssignment(10, Assignment(1, 2)));
        Assert.Null(tracker.ObserveAssignment(20, Assignment(3, 4))); // moved a lot: keep warming up
        Assert.Equal(TrainingPhase.Warmup, tracker.At(20));

        var reason = tracker.ObserveAssignment(30, Assignment(3, 4));

        Assert.Contains("Warmup ends at step 30", reason);
        Assert.Equal(TrainingPhase.Stabilization, tracker.At(30));
        Assert.Equal(TrainingPhase.Stabilization, tracker.At(59));
        Assert.Equal(TrainingPhase.Consolidation, tracker.At(60)); // 30 steps of stabilization, moved 10 earlier
    }

    [Fact]
    public void A_stable_assignment_ends_stabilization_early_after_two_checks_of_its_own()
    {
        var tracker = new PhaseTracker(new PhaseSchedule(0, 80, 100), stabilityThreshold: 0.0);
        Assert.Equal(TrainingPhase.Stabilization, tracker.At(0));
        Assert.Null(tracker.ObserveAssignment(10, Assignment(1, 2)));
        Assert.NotNull(tracker.ObserveAssignment(20, Assignment(1, 2)));
        Assert.Equal(TrainingPhase.Consolidation, tracker.At(20));
        Assert.Null(tracker.ObserveAssignment(30, Assignment(1, 2))); // consolidation is final
    }

    [Fact]
    public void Without_the_progressive_schedule_stabilization_never_ends()
    {
        var tracker = new PhaseTracker(new PhaseSchedule(0, 10, 100, Progressive: false), stabilityThreshold: 0.5);
        tracker.ObserveAssignment(10, Assignment(1));
        Assert.Null(tracker.ObserveAssignment(20, Assignment(1)));
        Assert.Equal(TrainingPhase.Stabilization, tracker.At(99));
    }
}
