using System.Diagnostics;
using DesMoe.Core.Data;
using DesMoe.Core.Model;
using DesMoe.Core.Tokenization;
using DesMoe.Core.Training;
using TorchSharp;
using static TorchSharp.torch;
using DesMoe.Core.Tensors;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// Adapts a pre-trained MoE model in place to one or more domains, with DES-MoE or a baseline
/// (<see cref="AdaptationOptions.Method"/>). Batches mix the domains; one run produces one model.
/// </summary>
public sealed class AdaptationTrainer(MoeTransformer model, ITextTokenizer tokenizer, AdaptationOptions options)
{
    private readonly IReadOnlyList<RoledParameter> _parameters = ParameterRoles.Classify(model);

    public event Action<string>? Log;

    /// <param name="validationSets">optional held-out sets, one per domain: their mean loss is tracked for convergence</param>
    /// <param name="generalReference">
    /// a sample of the pre-training (general) data: domain-routed DES-MoE (<see cref="AdaptationOptions.UsesDomainRouting"/>)
    /// measures on it which experts the domains may adapt
    /// </param>
    public AdaptationRun Run(IReadOnlyList<string> domains, IReadOnlyList<IReadOnlyList<Example>> domainSets,
        Action<AdaptationProgress>? progress = null, CancellationToken cancellation = default,
        IReadOnlyList<IReadOnlyList<Example>>? validationSets = null, IReadOnlyList<Example>? generalReference = null)
    {
        options.Validate();
        if (domains.Count == 0) throw new ArgumentException("no domains to adapt to");
        if (domains.Count != domainSets.Count) throw new ArgumentException($"{domains.Count} domain names but {domainSets.Count} datasets");
        for (int d = 0; d < domains.Count; d++)
            if (domainSets[d].Count == 0) throw new ArgumentException($"domain '{domains[d]}' has no training examples");
        if (options.Method == AdaptationMethod.Esft && domains.Count != 1)
            throw new ArgumentException($"ESFT trains one model per domain; got {domains.Count} domains in one run");
        var config = model.Config;
        if (options.UsesDomainRouting)
        {
            if (generalReference is null || generalReference.Count == 0)
                throw new ArgumentException("domain-routed DES-MoE needs general reference examples (a sample of the pre-training data) to choose the experts " +
                                            "that may adapt; pass them, or turn DomainRoutedTraining off");
            if (options.AdaptableExperts > config.NumRoutedExperts - config.TopK)
                throw new ArgumentException($"{options.AdaptableExperts} adaptable experts per layer would leave the no-domain path fewer than " +
                                            $"top-k ({config.TopK}) of the {config.NumRoutedExperts} routed experts");
        }

        torch.manual_seed(options.Seed);
        var random = new Random(options.Seed);
        var domainIds = Enumerable.Range(0, domains.Count).ToList();
        var schedule = PhaseSchedule.FromFractions(options.Steps, options.WarmupFraction, options.StabilizationFraction, options.ProgressiveSchedule);
        var phases = new PhaseTracker(schedule, options.PhaseStabilityThreshold);
        int phaseStart = 0;
        var learningRate = new LearningRateSchedule(options.LearningRate, options.WarmupLearningRateSteps, options.Steps);
        bool desMoe = options.Method == AdaptationMethod.DesMoe;

        var resume = options.CheckpointDirectory is { } folder ? AdaptationCheckpoint.TryLoad(folder) : null;
        if (resume?.MismatchWith(options, domains) is { } mismatch) throw new InvalidOperationException($"{options.CheckpointDirectory}: {mismatch}");

        var matrix = !desMoe ? null
            : resume?.Matrix is { } savedMatrix ? SpecificityMatrix.FromJson(savedMatrix)
            : new SpecificityMatrix(domains, config.NumLayers, config.NumRoutedExperts);
        ExpertAssignment? assignment = resume is not null
            ? (resume.Assignment is { } savedAssignment ? ExpertAssignment.Parse(savedAssignment, config.NumLayers, config.NumRoutedExperts) : null)
            : options.Method == AdaptationMethod.Esft ? EsftAssignment(domains[0], domainSets[0]) : null;
        if (assignment is not null && options.Method == AdaptationMethod.Esft)
            Log?.Invoke($"ESFT ({options.EsftScore}, top-p {options.EsftTopP}) selected experts per layer: " + Describe(assignment, 0));
        // Chosen on the pre-trained weights, so a resumed run takes the checkpoint's pool rather than measuring adapted ones.
        using var pool = !options.UsesDomainRouting ? null
            : resume?.Pool is { } savedPool ? new AdaptablePool(savedPool.Select(l => (IReadOnlySet<int>)l.ToHashSet()).ToList(), config.NumRoutedExperts)
            : AdaptablePool.Choose(model, tokenizer, generalReference!, options.AdaptableExperts, options.RemovalCostExamples);
        if (pool is not null && resume is null)
            Log?.Invoke($"adaptable experts (least removal cost on {Math.Min(generalReference!.Count, options.RemovalCostExamples)} general examples), layer 0: [{string.Join(",", pool.Experts[0].Order())}]");
        ExpertAssignment AssignFromMatrix() => pool is null
            ? matrix!.Assign(options.AssignmentTopP, options.AssignmentMinSpecificity)
            : matrix!.AssignWithin(pool.Experts, options.AssignmentTopP, options.AssignmentMinSpecificity);

        using var referenceRouters = new DisposableTensors(resume is null
            ? model.Layers.Select(l => l.Moe.Router.Weight.detach().clone())
            : resume.ReferenceRouters.Select(w => tensor(w, [config.NumRoutedExperts, config.HiddenSize])));
        var distillationWeight = new AdaptiveDistillationWeight(resume?.DistillationWeight ?? options.DistillationInitialWeight, options.DistillationTargetKl);
        GradientIsolation? isolation = null;
        DomainRouting? routing = null;
        if (desMoe && assignment is not null)
        {
            if (pool is null) isolation = new GradientIsolation(assignment);
            else routing = new DomainRouting(assignment.RoutingTable(config.TopK, NoDomainRouting.UnassignedExperts), config.TopK);
        }
        AdamW? optimizer = null;
        string trainableKey = "";
        List<RoledParameter> trainable = [];
        (TrainingPhase? Phase, ExpertAssignment? Assignment)? trainableFor = null;
        long trainableCount = 0;
        TrainingPhase? lastPhase = null;

        var curve = new List<(int Step, double Loss)>();
        var validation = new List<(int Step, double Loss, double Seconds)>();
        var clock = Stopwatch.StartNew();
        var elapsedBefore = TimeSpan.Zero;
        var window = new ProgressWindow(domains);
        int firstStep = 0;
        if (resume is not null)
        {
            resume.LoadWeights(options.CheckpointDirectory!, model);
            phases.Restore(resume.Phases, config.NumLayers, config.NumRoutedExperts);
            phaseStart = resume.PhaseStart;
            lastPhase = resume.LastPhase;
            curve.AddRange(resume.LossCurve);
            validation.AddRange(resume.ValidationCurve);
            elapsedBefore = TimeSpan.FromSeconds(resume.ElapsedSeconds);
            firstStep = resume.Step;
            for (int step = 0; step < firstStep; step++) DomainBatch.Skip(domainSets, domainIds, options.BatchSize, random);
            Log?.Invoke($"resuming from the checkpoint in {options.CheckpointDirectory} at step {firstStep}");
        }
        TimeSpan Elapsed() => elapsedBefore + clock.Elapsed;
        bool optimizerPending = resume is not null;

        model.train();
        try
        {
            for (int step = firstStep; step < options.Steps; step++)
            {
                cancellation.ThrowIfCancellationRequested();
                TrainingPhase? phase = desMoe ? phases.At(step) : null;
                if (phase != lastPhase) phaseStart = step;
                bool checkpoint = desMoe && phase != TrainingPhase.Consolidation && step > phaseStart && (step - phaseStart) % options.ReassignEvery == 0;
                if (checkpoint && phases.ObserveAssignment(step, AssignFromMatrix()) is { } reason)
                {
                    Log?.Invoke($"step {step}: {reason}");
                    phase = phases.At(step);
                    phaseStart = step;
                }

                if (desMoe && phase != TrainingPhase.Warmup && options.GradientIsolation)
                {
                    bool enteringStabilization = lastPhase is TrainingPhase.Warmup or null && phase == TrainingPhase.Stabilization;
                    bool enteringConsolidation = lastPhase != TrainingPhase.Consolidation && phase == TrainingPhase.Consolidation;
                    bool reassign = phase == TrainingPhase.Stabilization && (step - phaseStart) % options.ReassignEvery == 0;
                    if (assignment is null || enteringStabilization || enteringConsolidation || reassign)
                    {
                        var next = AssignFromMatrix();
                        if (assignment is null || next.DistanceTo(assignment) > 0)
                        {
                            Log?.Invoke($"step {step}: expert assignment {(assignment is null ? "set" : $"changed ({next.DistanceTo(assignment):P0} of memberships)")}; layer 0: {Describe(next, 0)}");
                            assignment = next;
                            isolation?.Dispose();
                            routing?.Dispose();
                            // Domain routing isolates by construction: a domain's tokens only reach its own trainable experts.
                            if (pool is null) isolation = new GradientIsolation(assignment);
                            else routing = new DomainRouting(assignment.RoutingTable(config.TopK, NoDomainRouting.UnassignedExperts), config.TopK);
                        }
                    }
                }
                if (phase != lastPhase && phase is not null) Log?.Invoke($"step {step}: phase {phase}");
                lastPhase = phase;

                // The trainable set only depends on the phase and the assignment; recompute it when either changes.
                bool setChanged = false;
                if (trainableFor is not { } last || last.Phase != phase || !ReferenceEquals(last.Assignment, assignment))
                {
                    trainable = TrainableParameters(phase, assignment, pool);
                    trainableFor = (phase, assignment);
                    var key = string.Join(",", trainable.Select(p => p.Name));
                    setChanged = key != trainableKey;
                    trainableKey = key;
                }
                if (setChanged)
                {
                    // A fresh optimizer over exactly the trainable tensors: frozen ones get no update at all (no
                    // momentum, no weight decay), which keeps them bit-identical.
                    foreach (var p in _parameters) p.Parameter.requires_grad = false;
                    foreach (var p in trainable) p.Parameter.requires_grad = true;
                    optimizer?.Dispose();
                    optimizer = new AdamW(trainable.Select(p => p.Parameter), options.LearningRate, weightDecay: options.WeightDecay);
                    // A checkpoint taken where the trainable set changes (e.g. entering consolidation) holds moments of
                    // the previous set; an uninterrupted run starts a fresh optimizer there too.
                    if (optimizerPending && resume!.OptimizerParameters.SequenceEqual(trainable.Select(p => p.Name)))
                        AdaptationCheckpoint.LoadOptimizer(options.CheckpointDirectory!, optimizer);
                    optimizerPending = false;
                    trainableCount = trainable.Sum(p => p.Role == ParameterRole.Router && pool is not null
                        ? pool.Experts[p.Layer].Count * config.HiddenSize
                        : p.Parameter.numel());
                    Log?.Invoke($"step {step}: {trainableCount:N0} trainable parameters");
                }
                optimizer!.LearningRate = learningRate.At(step);

                using (var scope = NewDisposeScope())
                {
                    using var batch = DomainBatch.Sample(domainSets, domainIds, options.BatchSize, random, tokenizer, config.MaxPositions);
                    bool isolate = desMoe && options.GradientIsolation && phase != TrainingPhase.Warmup && isolation is not null;
                    var output = model.Forward(batch.Batch.InputIds, batch.Batch.AttentionMask,
                        expertOutputFilter: isolate ? isolation!.For(batch.TokenDomains) : null,
                        domainIds: routing is null ? null : batch.SequenceDomains, domainRouting: routing);

                    var perToken = nn.functional.cross_entropy(output.Logits.view(-1, output.Logits.shape[^1]), batch.Batch.Targets.view(-1),
                        ignore_index: SequenceBatch.IgnoreIndex, reduction: nn.Reduction.None);
                    var isTarget = batch.Batch.Targets.view(-1).ne(SequenceBatch.IgnoreIndexScalar);
                    var lmLoss = perToken.sum() / isTarget.sum();
                    var loss = LanguageModelLoss.WithBalance(lmLoss, output.BalanceLoss, config.AuxLossAlpha);

                    var realTokens = batch.Batch.AttentionMask.view(-1);
                    var kl = RouterDistillation.Drift(model, output.Routing, referenceRouters, realTokens);
                    bool routerTrains = trainable.Any(p => p.Role == ParameterRole.Router);
                    using var klWeight = distillationWeight.Value.ToScalar();
                    if (desMoe && options.RouterDistillation && routerTrains) loss = loss.add(kl * klWeight, Scalars.One);

                    optimizer.ZeroGrad();
                    loss.backward();
                    if (pool is not null && routerTrains) pool.MaskRouterGradients(model);
                    nn.utils.clip_grad_norm_(trainable.Select(p => p.Parameter), options.GradientClip);
                    optimizer.Step();

                    double klValue = kl.item<float>();
                    if (desMoe && options.RouterDistillation) distillationWeight.Observe(klValue);
                    if (matrix is not null && phase != TrainingPhase.Consolidation)
                        UpdateMatrix(matrix, output.Routing, batch, realTokens, domains.Count);

                    double lmValue = lmLoss.item<float>();
                    window.AddStep(lmValue, klValue, batch.Batch.InputTokens);
                    curve.Add((step + 1, lmValue));
                    AccumulateDomainLoss(perToken, isTarget, batch.TokenDomains, window);
                }

                if (validationSets is not null && ((step + 1) % options.ValidateEvery == 0 || step == options.Steps - 1))
                    validation.Add((step + 1, ValidationLoss(validationSets, routing), Elapsed().TotalSeconds));

                if ((step + 1) % options.LogEvery == 0 || step == options.Steps - 1)
                    progress?.Invoke(window.Report(step + 1, options.Steps, phase, distillationWeight.Value, Elapsed()));

                if (options.CheckpointDirectory is { } checkpointFolder && (step + 1) % options.CheckpointEvery == 0 && step + 1 < options.Steps)
                {
                    new AdaptationCheckpoint
                    {
                        Step = step + 1, Method = options.Method.ToString(), Domains = domains.ToList(), TotalSteps = options.Steps, Seed = options.Seed,
                        BatchSize = options.BatchSize, Phases = phases.State, PhaseStart = phaseStart, LastPhase = lastPhase,
                        DistillationWeight = distillationWeight.Value, OptimizerParameters = trainable.Select(p => p.Name).ToList(), Matrix = matrix?.ToJson(), Assignment = assignment?.ToJson(),
                        Pool = pool?.Experts.Select(l => l.Order().ToArray()).ToArray(),
                        ReferenceRouters = AdaptationCheckpoint.Snapshot(Enumerable.Range(0, config.NumLayers).Select(l => referenceRouters[l])),
                        LossCurve = curve, ValidationCurve = validation, ElapsedSeconds = Elapsed().TotalSeconds,
                    }.Save(checkpointFolder, model, optimizer);
                    Log?.Invoke($"step {step + 1}: checkpoint saved to {checkpointFolder}");
                }
            }
        }
        finally
        {
            optimizer?.Dispose();
            isolation?.Dispose();
            routing?.Dispose();
            foreach (var p in _parameters) p.Parameter.requires_grad = true;
            model.eval();
        }
        bool domainRouted = pool is not null && assignment is not null;
        if (domainRouted) assignment = assignment! with { RoutedDomains = domains.ToHashSet() };
        return new AdaptationRun(matrix, assignment, curve, validation, options.Steps, Elapsed().TotalSeconds, trainableCount)
        {
            DomainRouted = domainRouted,
        };
    }

    /// <summary>Mean over domains of the loss on (up to 64 of) each domain's held-out examples, under the routing training uses now.</summary>
    private double ValidationLoss(IReadOnlyList<IReadOnlyList<Example>> sets, DomainRouting? routing)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            return sets.Select((set, domain) =>
            {
                using var scope = NewDisposeScope();
                using var batch = SequenceBatch.Create(tokenizer, set.Take(64).ToList(), model.Config.MaxPositions);
                var domainIds = routing is null ? null : Filled.Int64(batch.InputIds.shape[0], domain);
                var logits = model.Forward(batch.InputIds, batch.AttentionMask, domainIds: domainIds, domainRouting: routing).Logits;
                return (double)LanguageModelLoss.CrossEntropy(logits, batch.Targets).item<float>();
            }).Average();
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private List<RoledParameter> TrainableParameters(TrainingPhase? phase, ExpertAssignment? assignment, AdaptablePool? pool)
    {
        switch (options.Method)
        {
            case AdaptationMethod.FullFineTuning:
                return _parameters.ToList();
            case AdaptationMethod.Esft:
                var selected = assignment!.AssignedPerLayer();
                return _parameters.Where(p => p.Role == ParameterRole.RoutedExpert && selected[p.Layer].Contains(p.Expert)).ToList();
        }

        // Warm-up trains every expert that may adapt: all of them, or with domain routing the pool's.
        IReadOnlyList<IReadOnlySet<int>>? adaptable = phase == TrainingPhase.Warmup || !options.GradientIsolation || assignment is null
            ? pool?.Experts
            : assignment.AssignedPerLayer();
        return _parameters.Where(p => p.Role switch
        {
            ParameterRole.Router => phase != TrainingPhase.Consolidation,
            ParameterRole.RoutedExpert => adaptable is null || adaptable[p.Layer].Contains(p.Expert),
            ParameterRole.SharedExpert => options.TrainSharedExperts,
            _ => false,
        }).ToList();
    }

    private void UpdateMatrix(SpecificityMatrix matrix, IReadOnlyList<RouterOutput> routing, DomainBatch batch, Tensor realTokens, int domainCount)
    {
        using var noGrad = no_grad();
        for (int d = 0; d < domainCount; d++)
        {
            using var domain = d.ToScalar();
            var mine = realTokens & batch.TokenDomains.eq(domain);
            long count = mine.sum().item<long>();
            if (count == 0) continue;
            for (int l = 0; l < routing.Count; l++)
            {
                var chosen = routing[l].TopKIndices[mine].flatten();
                using var selections = chosen.shape[0].ToScalar();
                var share = chosen.bincount(null, matrix.NumExperts).to(float64) / selections;
                matrix.Update(l, d, share.data<double>().ToArray(), options.MatrixEmaRate);
            }
        }
    }

    /// <summary>ESFT: score each expert's relevance to the domain on the base model's routing, keep the top-p set per layer.</summary>
    private ExpertAssignment EsftAssignment(string domain, IReadOnlyList<Example> examples)
    {
        var config = model.Config;
        var shares = RoutingShares.Of(model, tokenizer, examples.Take(options.EsftRelevanceExamples).ToList(),
            bySelections: options.EsftScore == EsftScore.TokenSelectionRatio);
        var matrix = new SpecificityMatrix([domain], config.NumLayers, config.NumRoutedExperts);
        for (int l = 0; l < config.NumLayers; l++) matrix.Update(l, 0, shares[l], rate: 1.0);
        return matrix.Assign(options.EsftTopP, minSpecificity: 0);
    }

    private static void AccumulateDomainLoss(Tensor perToken, Tensor isTarget, Tensor tokenDomains, ProgressWindow window)
    {
        var losses = perToken.detach().data<float>().ToArray();
        var targets = isTarget.data<bool>().ToArray();
        var owners = tokenDomains.data<long>().ToArray();
        for (int i = 0; i < losses.Length; i++)
            if (targets[i]) window.AddDomainLoss((int)owners[i], losses[i]);
    }

    private static string Describe(ExpertAssignment assignment, int layer) =>
        string.Join("; ", assignment.Domains.Select((d, i) => $"{d}=[{string.Join(",", assignment.Experts[layer][i])}]"));
}
