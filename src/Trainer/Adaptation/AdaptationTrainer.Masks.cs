using DesMoe.Formats.Experts;

namespace DesMoe.Trainer.Adaptation;

/// <summary>Step 2 of a training step: the expert-domain matrix becomes each domain's experts (the masks, or the domain-routed assignment).</summary>
public sealed partial class AdaptationTrainer
{
    // ---- 2. expert-domain matrix and masks --------------------------------------------------------------------------

    private void RefreshMasks(AdaptationState run, int step)
    {
        if (DesMoe) RefreshByThreshold(run, step);
        else if (DomainRouted) RefreshWithinPool(run, step);
        if (run.Phase != run.LastPhase && run.Phase is not null) Log?.Invoke($"step {step}: phase {run.Phase}");
        run.LastPhase = run.Phase;
    }

    /// <summary>
    /// The paper's refresh: every <see cref="AdaptationOptions.MatrixRefreshEvery"/> steps the window's selection
    /// shares fold into A with momentum, and S_d = experts at or above phi times the row's best; a phase that begins
    /// recomputes S_d too. The masks apply from stabilization on; consolidation keeps the last ones.
    /// <para>
    /// A window folds in at its refresh step, not when a phase begins: at momentum 0.9 the window open then (1 step of
    /// 16 sequences at 6 domains) would otherwise set 90% of the masks consolidation locks. It stays open into
    /// stabilization, and is dropped at consolidation, whose masks are A as its last refresh left it; only a matrix
    /// never refreshed takes it early, as the only measurement there is.
    /// </para>
    /// </summary>
    private void RefreshByThreshold(AdaptationState run, int step)
    {
        var phase = run.Phase;
        bool entering = phase != run.LastPhase && phase != TrainingPhase.Warmup;
        bool due = step > 0 && step % options.MatrixRefreshEvery == 0 && phase != TrainingPhase.Consolidation;
        bool entersLocked = entering && phase == TrainingPhase.Consolidation;
        if (!due && !entering) return;
        var window = run.UsageWindow!;
        if (!window.IsEmpty && (due || !window.RefreshedBefore)) window.FlushInto(run.Matrix!, options.MatrixMomentum);
        else if (entersLocked) window.Clear();

        var next = run.Matrix!.AssignByThreshold(options.ExpertThreshold);
        if (!entersLocked) ObservePhaseStability(run, step, next);
        if (!options.GradientIsolation || run.Phase == TrainingPhase.Warmup) return;
        Install(run, step, next, "expert masks");
    }

    /// <summary>The domain-routed variant: top-p assignment within the adaptable pool, checked every <see cref="AdaptationOptions.ReassignEvery"/> steps.</summary>
    private void RefreshWithinPool(AdaptationState run, int step)
    {
        var matrix = run.Matrix!;
        ExpertAssignment Assign() => matrix.AssignWithin(run.Pool!.Experts, options.AssignmentTopP, options.AssignmentMinSpecificity);
        bool check = run.Phase != TrainingPhase.Consolidation && step > run.PhaseStart && (step - run.PhaseStart) % options.ReassignEvery == 0;
        if (check) ObservePhaseStability(run, step, Assign());
        var phase = run.Phase;
        if (phase == TrainingPhase.Warmup) return;
        bool enteringStabilization = run.LastPhase is TrainingPhase.Warmup or null && phase == TrainingPhase.Stabilization;
        bool enteringConsolidation = run.LastPhase != TrainingPhase.Consolidation && phase == TrainingPhase.Consolidation;
        bool reassign = phase == TrainingPhase.Stabilization && (step - run.PhaseStart) % options.ReassignEvery == 0;
        if (run.Assignment is not null && !enteringStabilization && !enteringConsolidation && !reassign) return;
        Install(run, step, Assign(), "expert assignment");
    }

    /// <summary>With a phase stability threshold, a recomputed assignment that barely moved ends the phase here.</summary>
    private void ObservePhaseStability(AdaptationState run, int step, ExpertAssignment recomputed)
    {
        if (run.Phases.ObserveAssignment(step, recomputed) is not { } reason) return;
        Log?.Invoke($"step {step}: {reason}");
        run.Phase = run.Phases.At(step);
        run.PhaseStart = step;
    }

    /// <summary>Makes <paramref name="next"/> the run's assignment unless it equals the current one, and logs the change.</summary>
    private void Install(AdaptationState run, int step, ExpertAssignment next, string what)
    {
        double? moved = run.Assignment is null ? null : next.DistanceTo(run.Assignment);
        if (moved == 0) return;
        Log?.Invoke($"step {step}: {what} {(moved is { } m ? $"changed ({m:P0} of memberships)" : "set")}; layer 0: {Describe(next, 0)}");
        run.SetAssignment(next, model.Config.TopK, cutsHiddenState: options.MaskCutsHiddenState);
    }
}
