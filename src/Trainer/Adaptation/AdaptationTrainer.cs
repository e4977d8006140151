using DesMoe.Formats.Data;
using DesMoe.Torch.Model;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Trainer.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// Adapts a pre-trained MoE model in place to one or more domains, with DES-MoE or a baseline
/// (<see cref="AdaptationOptions.Method"/>). Batches mix the domains; one run produces one model.
/// </summary>
public sealed partial class AdaptationTrainer(MoeTransformer model, ITextTokenizer tokenizer, AdaptationOptions options)
{
    public event Action<string>? Log;

    private bool DesMoe => options.Method == AdaptationMethod.DesMoe;
    private bool DomainRouted => options.UsesDomainRouting;
    private bool Phased => DesMoe || DomainRouted;

    /// <param name="validationSets">optional held-out sets, one per domain: their mean loss is tracked for convergence</param>
    /// <param name="generalReference">
    /// a sample of the pre-training (general) data: the domain-routed variant measures on it which experts the domains may adapt
    /// </param>
    public AdaptationRun Run(IReadOnlyList<string> domains, IReadOnlyList<IReadOnlyList<Example>> domainSets,
        Action<AdaptationProgress>? progress = null, CancellationToken cancellation = default,
        IReadOnlyList<IReadOnlyList<Example>>? validationSets = null, IReadOnlyList<Example>? generalReference = null)
    {
        CheckInputs(domains, domainSets, generalReference);
        torch.manual_seed(options.Seed);
        using var run = Prepare(domains, domainSets, generalReference);

        model.train();
        try
        {
            for (int step = run.FirstStep; step < options.Steps; step++)
            {
                cancellation.ThrowIfCancellationRequested();
                EnterPhase(run, step);                 // 1. where the three-phase schedule stands
                RefreshMasks(run, step);               // 2. expert-domain matrix -> each domain's experts S_d
                SelectTrainable(run, step);            // 3. the phase's trainable set (one optimizer for the whole run)
                TrainStep(run, step);                  // 4. forward, task loss + router distillation, masked update

                if (validationSets is not null && Due(step, options.ValidateEvery)) Validate(run, step, validationSets);
                if (Due(step, options.LogEvery))
                    progress?.Invoke(run.Window.Report(step + 1, options.Steps, run.Phase, run.DistillationWeight, run.Elapsed));
                if (options.CheckpointDirectory is { } folder && (step + 1) % options.CheckpointEvery == 0 && step + 1 < options.Steps)
                    SaveCheckpoint(run, step + 1, folder);
            }
        }
        finally
        {
            foreach (var p in run.Parameters) p.Parameter.requires_grad = true;
            model.eval();
        }
        if (options.KeepBestValidation && run.Best.Step is { } best && best != options.Steps)
        {
            run.Best.Restore(model);
            Log?.Invoke($"kept the weights of step {best}, the lowest validation loss ({run.Best.Loss:F4})");
        }
        return Result(run);
    }

    private void Validate(AdaptationState run, int step, IReadOnlyList<IReadOnlyList<Example>> validationSets)
    {
        double loss = ValidationLoss(validationSets, run.Routing);
        run.Validation.Add((step + 1, loss, run.Elapsed.TotalSeconds));
        if (options.KeepBestValidation) run.Best.Offer(step + 1, loss, model, run.Assignment);
    }

    private bool Due(int step, int every) => (step + 1) % every == 0 || step == options.Steps - 1;

    // ---- 1. phase ---------------------------------------------------------------------------------------------------

    private void EnterPhase(AdaptationState run, int step)
    {
        run.Phase = Phased ? run.Phases.At(step) : null;
        if (run.Phase != run.LastPhase) run.PhaseStart = step;
    }

    // ---- 3. trainable set -------------------------------------------------------------------------------------------

    private void SelectTrainable(AdaptationState run, int step)
    {
        // The trainable set only depends on the phase and the assignment; recompute it when either changes.
        if (run.TrainableFor is { } last && last.Phase == run.Phase && ReferenceEquals(last.Assignment, run.Assignment)) return;
        var trainable = TrainableSets.For(options, run.Parameters, run.Phase, run.Assignment, run.Pool);
        run.TrainableFor = (run.Phase, run.Assignment);
        var key = string.Join(",", trainable.Select(p => p.Name));
        if (key == run.TrainableKey && run.Optimizer is not null) return;
        run.Trainable = trainable;
        run.TrainableKey = key;

        // Only the trainable tensors get gradients. The run's one optimizer skips a tensor without one: a frozen
        // tensor gets no update (no momentum, no weight decay) and keeps its moments for when it trains again, as
        // with the paper's gradient masks (Eq. 10) rather than an optimizer restarted with every new set.
        foreach (var p in run.Parameters) p.Parameter.requires_grad = false;
        foreach (var p in trainable) p.Parameter.requires_grad = true;
        run.Optimizer ??= CreateOptimizer(run, trainable);
        var config = model.Config;
        run.TrainableCount = run.Lora?.Count ?? trainable.Sum(p => p.Role == ParameterRole.Router && run.Pool is not null
            ? run.Pool.Experts[p.Layer].Count * config.HiddenSize
            : p.Parameter.numel());
        Log?.Invoke($"step {step}: {run.TrainableCount:N0} trainable parameters");
    }

    /// <summary>
    /// The run's optimizer over every tensor that may train in some phase (moments are made at a tensor's first
    /// update, so the rest cost nothing); LoRA's over its factors, whose target set never changes within a run.
    /// </summary>
    private AdamW CreateOptimizer(AdaptationState run, IReadOnlyList<RoledParameter> trainable)
    {
        if (options.Method == AdaptationMethod.Lora) run.Lora = new LowRankAdapters(trainable.Select(p => p.Parameter), options.LoraRank, options.LoraAlpha);
        var optimizer = new AdamW(run.Lora?.Parameters ?? run.Parameters.Select(p => p.Parameter), options.LearningRate, weightDecay: options.WeightDecay);
        // Domain-routed runs train only the pool's router rows: the others keep their value and moments.
        if (run.Pool is { } pool)
            for (int l = 0; l < model.Layers.Count; l++)
            {
                using var rows = pool.RouterRows(l);
                optimizer.Restrict(model.Layers[l].Moe.Router.Weight, rows);
            }
        if (run.Resume is not null) AdaptationCheckpoint.LoadOptimizer(options.CheckpointDirectory!, optimizer);
        return optimizer;
    }

    // ---- 4. one training step ---------------------------------------------------------------------------------------

    private void TrainStep(AdaptationState run, int step)
    {
        var config = model.Config;
        var optimizer = run.Optimizer!;
        optimizer.LearningRate = run.LearningRate.At(step);
        using var scope = NewDisposeScope();
        using var batch = DomainBatch.Sample(run.DomainSets, run.DomainIds, options.BatchSize, run.Random, tokenizer, config.MaxPositions);

        // Forward: DES-MoE masks each token's gradient to its domain's experts; the domain-routed variant routes it there.
        bool masked = DesMoe && run.Phase != TrainingPhase.Warmup && run.Isolation is not null;
        var output = model.Forward(batch.Batch.InputIds, batch.Batch.AttentionMask,
            gradientMask: masked ? run.Isolation!.For(batch.TokenDomains) : null,
            domainIds: run.Routing is null ? null : batch.SequenceDomains, domainRouting: run.Routing);
        var perToken = nn.functional.cross_entropy(output.Logits.view(-1, output.Logits.shape[^1]), batch.Batch.Targets.view(-1),
            ignore_index: SequenceBatch.IgnoreIndex, reduction: nn.Reduction.None);
        var isTarget = batch.Batch.Targets.view(-1).ne(SequenceBatch.IgnoreIndexScalar);
        var lmLoss = perToken.sum() / isTarget.sum();
        var loss = LanguageModelLoss.WithBalance(lmLoss, output.BalanceLoss, config.AuxLossAlpha);
        var realTokens = batch.Batch.AttentionMask.view(-1);

        // Router distillation, then the update.
        Tensor kl;
        if (options.DistilsRouterLinearly)
        {
            // Router loss = lambda * KD + (1 - lambda) * task: the task gradient reaching the router is scaled by
            // (1 - lambda), then the KD term (on detached router inputs, a graph of its own) adds lambda * its gradient.
            kl = RouterDistillation.Drift(model, output.Routing, run.ReferenceRouters, realTokens, options.DistillationTemperature, routerOnly: true);
            double lambda = options.RouterDistillation && run.RouterTrains ? run.LinearWeight.At(step) : 0;
            run.DistillationWeight = lambda;
            OptimizerStep.Take(optimizer, loss, options.GradientClip, lambda > 0 ? () => MixRouterLoss(run, kl, lambda) : null);
        }
        else
        {
            kl = RouterDistillation.Drift(model, output.Routing, run.ReferenceRouters, realTokens);
            bool distill = DomainRouted && options.RouterDistillation && run.RouterTrains;
            using var klWeight = run.AdaptiveWeight.Value.ToScalar();
            if (distill) loss = loss.add(kl * klWeight, Scalars.One);
            run.DistillationWeight = DomainRouted ? run.AdaptiveWeight.Value : 0;
            Action? adjust = run.Lora is { } lora ? lora.ProjectGradients
                : DomainRouted && run.RouterTrains ? () => run.Pool!.MaskRouterGradients(model) : null;
            OptimizerStep.Take(optimizer, loss, options.GradientClip, adjust);
            run.Lora?.Apply();
        }

        // Bookkeeping: routing statistics for the matrix, curves, per-domain loss.
        double klValue = kl.item<float>();
        if (DomainRouted && options.RouterDistillation) run.AdaptiveWeight.Observe(klValue);
        if (run.Phase is not null and not TrainingPhase.Consolidation)
        {
            run.UsageWindow!.Add(output.Routing, batch.TokenDomains, realTokens);
            // The domain-routed variant keeps a per-step moving average; DES-MoE refreshes every T_update steps (RefreshByThreshold).
            if (DomainRouted) run.UsageWindow.FlushInto(run.Matrix!, options.MatrixEmaRate, firstTakesAll: false);
        }
        double lmValue = lmLoss.item<float>();
        run.Window.AddStep(lmValue, klValue, batch.Batch.InputTokens);
        run.Curve.Add((step + 1, lmValue));
        AccumulateDomainLoss(perToken, isTarget, batch.TokenDomains, run.Window);
    }

    private static void MixRouterLoss(AdaptationState run, Tensor kl, double lambda)
    {
        using (no_grad())
        {
            using var taskShare = (1 - lambda).ToScalar();
            foreach (var p in run.Trainable.Where(p => p.Role == ParameterRole.Router)) p.Parameter.grad?.mul_(taskShare);
        }
        using var kdShare = lambda.ToScalar();
        kl.mul(kdShare).backward();
    }

    // ---- 5. checkpoint and result -----------------------------------------------------------------------------------

    private void SaveCheckpoint(AdaptationState run, int stepsDone, string folder)
    {
        var config = model.Config;
        new AdaptationCheckpoint
        {
            Step = stepsDone, Method = options.Method.ToString(), Domains = run.Domains.ToList(), TotalSteps = options.Steps, Seed = options.Seed,
            BatchSize = options.BatchSize, Phases = run.Phases.State, PhaseStart = run.PhaseStart, LastPhase = run.LastPhase,
            DistillationWeight = run.AdaptiveWeight.Value, OptimizerParameters = run.Parameters.Select(p => p.Name).ToList(),
            Matrix = run.Matrix?.ToJson(), Assignment = run.Assignment?.ToJson(), UsageWindow = run.UsageWindow?.ToJson(),
            Pool = run.Pool?.Experts.Select(l => l.Order().ToArray()).ToArray(),
            ReferenceRouters = AdaptationCheckpoint.Snapshot(Enumerable.Range(0, config.NumMoeLayers).Select(l => run.ReferenceRouters[l])),
            LossCurve = run.Curve, ValidationCurve = run.Validation, ElapsedSeconds = run.Elapsed.TotalSeconds,
        }.Save(folder, model, run.Optimizer!);
        Log?.Invoke($"step {stepsDone}: checkpoint saved to {folder}");
    }

    private AdaptationRun Result(AdaptationState run)
    {
        var assignment = options.KeepBestValidation && run.Best.Step is not null ? run.Best.Assignment : run.Assignment;
        bool domainRouted = run.Pool is not null && assignment is not null;
        if (domainRouted) assignment = assignment! with { RoutedDomains = run.Domains.ToHashSet() };
        return new AdaptationRun(run.Matrix, assignment, run.Curve, run.Validation, options.Steps, run.Elapsed.TotalSeconds, run.TrainableCount)
        {
            DomainRouted = domainRouted,
            BestStep = options.KeepBestValidation ? run.Best.Step : null,
            UpdatesPerParameter = run.Lora is not null ? new Dictionary<string, long>()
                : run.Parameters.ToDictionary(p => p.Name, p => run.Optimizer?.StepsOf(p.Parameter) ?? 0),
        };
    }
}
