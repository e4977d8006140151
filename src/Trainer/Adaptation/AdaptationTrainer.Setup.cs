using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Trainer.Optimization;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>Step 0 of a run: checks the inputs, builds the method's state, and restores a checkpoint when there is one.</summary>
public sealed partial class AdaptationTrainer
{
    // ---- 0. set-up: inputs, method state, resume -------------------------------------------------------------------

    private void CheckInputs(IReadOnlyList<string> domains, IReadOnlyList<IReadOnlyList<Example>> domainSets, IReadOnlyList<Example>? generalReference)
    {
        options.Validate();
        if (domains.Count == 0) throw new ArgumentException("no domains to adapt to");
        if (domains.Count != domainSets.Count) throw new ArgumentException($"{domains.Count} domain names but {domainSets.Count} datasets");
        for (int d = 0; d < domains.Count; d++)
            if (domainSets[d].Count == 0) throw new ArgumentException($"domain '{domains[d]}' has no training examples");
        var config = model.Config;
        if (!DomainRouted) return;
        if (generalReference is null || generalReference.Count == 0)
            throw new ArgumentException("domain-routed DES-MoE needs general reference examples (a sample of the pre-training data) to choose the experts " +
                                        "that may adapt; pass them, or use --method DesMoe");
        if (options.AdaptableExperts > config.NumRoutedExperts - config.TopK)
            throw new ArgumentException($"{options.AdaptableExperts} adaptable experts per layer would leave the no-domain path fewer than " +
                                        $"top-k ({config.TopK}) of the {config.NumRoutedExperts} routed experts");
        if (config.AdaptiveRouterWidth > 0)
            throw new ArgumentException("domain-routed training keeps the no-domain path's router rows frozen, which an adaptive router " +
                                        "(desmoe_adaptive_router_width > 0) cannot guarantee; adapt the base model instead");
    }

    /// <summary>
    /// One domain is ESFT as published; several ("ESFT mixed", the paper's baseline, which ESFT does not define) train
    /// the union of each domain's own selection on the mixed data, without masks.
    /// </summary>
    private ExpertAssignment EsftSelection(IReadOnlyList<string> domains, IReadOnlyList<IReadOnlyList<Example>> domainSets)
    {
        var config = model.Config;
        var selections = domains.Select((d, i) => EsftAssignment(d, domainSets[i])).ToList();
        return new ExpertAssignment(domains, config.NumRoutedExperts,
            Enumerable.Range(0, config.NumMoeLayers).Select(l => (IReadOnlyList<int[]>)selections.Select(s => s.Experts[l][0]).ToList()).ToList());
    }

    private AdaptationState Prepare(IReadOnlyList<string> domains, IReadOnlyList<IReadOnlyList<Example>> domainSets, IReadOnlyList<Example>? generalReference)
    {
        var config = model.Config;
        if (options.UsesAdaptiveRouter && config.AdaptiveRouterWidth == 0)
        {
            model.EnableAdaptiveRouter(options.AdaptiveRouterWidthFactor * config.HiddenSize);
            Log?.Invoke($"adaptive router: a {model.Config.AdaptiveRouterWidth}-wide residual MLP per MoE layer, zero at the start");
        }

        var resume = options.CheckpointDirectory is { } folder ? AdaptationCheckpoint.TryLoad(folder) : null;
        if (resume?.MismatchWith(options, domains) is { } mismatch) throw new InvalidOperationException($"{options.CheckpointDirectory}: {mismatch}");
        // The frozen teacher: the routers as they were before this run (a resumed run takes the original run's).
        var references = new DisposableTensors(resume is null
            ? model.Layers.Select(l => l.Moe.Router.Weight.detach().clone())
            : resume.ReferenceRouters.Select(w => tensor(w, [config.NumRoutedExperts, config.HiddenSize])));
        // Chosen on the pre-trained weights, so a resumed run takes the checkpoint's pool rather than measuring adapted ones.
        var pool = !DomainRouted ? null
            : resume?.Pool is { } savedPool ? new AdaptablePool(savedPool.Select(l => (IReadOnlySet<int>)l.ToHashSet()).ToList(), config.NumRoutedExperts)
            : AdaptablePool.Choose(model, tokenizer, generalReference!, options.AdaptableExperts, options.RemovalCostExamples);
        if (pool is not null && resume is null)
            Log?.Invoke($"adaptable experts (least removal cost on {Math.Min(generalReference!.Count, options.RemovalCostExamples)} general examples), layer 0: [{string.Join(",", pool.Experts[0].Order())}]");

        // ESFT's selection, made on the pre-trained weights before anything is widened for training.
        var esft = options.Method == AdaptationMethod.Esft && resume is null ? EsftSelection(domains, domainSets) : null;
        var esftSelected = esft?.AssignedPerLayer();
        long widened = model.HoldInFloat32(ParameterRoles.Classify(model)
            .Where(p => TrainableSets.MayTrain(options, p, esftSelected, pool)).Select(p => p.Name).ToHashSet().Contains);
        if (widened > 0) Log?.Invoke($"{widened:N0} parameters that may train held in float32 for the run; the rest stay in {model.WeightType}");

        var schedule = PhaseSchedule.FromFractions(options.Steps, options.WarmupFraction, options.StabilizationFraction, options.ProgressiveSchedule);
        var run = new AdaptationState(domains, domainSets, options.Seed)
        {
            Parameters = ParameterRoles.Classify(model),
            Phases = new PhaseTracker(schedule, options.PhaseStabilityThreshold),
            LearningRate = new LearningRateSchedule(options.LearningRate, options.WarmupLearningRateSteps, options.Steps),
            Matrix = !Phased ? null
                : resume?.Matrix is { } savedMatrix ? SpecificityMatrix.FromJson(savedMatrix)
                : new SpecificityMatrix(domains, config.NumMoeLayers, config.NumRoutedExperts),
            UsageWindow = Phased ? new ExpertUsageWindow(config.NumMoeLayers, domains.Count, config.NumRoutedExperts) : null,
            Pool = pool,
            ReferenceRouters = references,
            AdaptiveWeight = new AdaptiveDistillationWeight(resume?.DistillationWeight ?? options.DistillationInitialWeight, options.DistillationTargetKl),
            LinearWeight = new LinearDistillationWeight(options.DistillationInitialWeight, options.Steps),
            Resume = resume,
        };

        if (resume is null)
        {
            if (esft is not null)
            {
                run.SetAssignment(esft, config.TopK, masks: false);
                Log?.Invoke($"ESFT ({options.EsftScore}, top-p {options.EsftTopP}) selected experts per layer: " + Describe(run.Assignment!, 0));
            }
            return run;
        }

        resume.LoadWeights(options.CheckpointDirectory!, model);
        run.Phases.Restore(resume.Phases, config.NumMoeLayers, config.NumRoutedExperts);
        run.PhaseStart = resume.PhaseStart;
        run.LastPhase = resume.LastPhase;
        if (resume.Assignment is { } savedAssignment)
            run.SetAssignment(ExpertAssignment.Parse(savedAssignment, config.NumMoeLayers, config.NumRoutedExperts), config.TopK, masks: Phased, options.MaskCutsHiddenState);
        if (resume.UsageWindow is { } savedWindow) run.UsageWindow?.Restore(savedWindow);
        run.Curve.AddRange(resume.LossCurve);
        run.Validation.AddRange(resume.ValidationCurve);
        run.ElapsedBefore = TimeSpan.FromSeconds(resume.ElapsedSeconds);
        run.FirstStep = resume.Step;
        for (int step = 0; step < run.FirstStep; step++) DomainBatch.Skip(domainSets, run.DomainIds, options.BatchSize, run.Random);
        Log?.Invoke($"resuming from the checkpoint in {options.CheckpointDirectory} at step {run.FirstStep}");
        return run;
    }
}
