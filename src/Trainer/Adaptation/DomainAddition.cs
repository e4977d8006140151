using System.Diagnostics;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Trainer.Optimization;
using TorchSharp;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Trainer.Adaptation;

/// <summary>What adding a domain produced besides the trained weights.</summary>
public sealed record DomainAdditionRun(ExpertAssignment Assignment, SpecificityMatrix Matrix, IReadOnlyList<(int Step, double Loss)> LossCurve,
    double WallSeconds, long TrainableParameters);

/// <summary>
/// Incremental DES-MoE: adds one domain to a model that already serves others, in place, without touching what they
/// compute. The new domain gets a row in the specificity matrix from profiling its tokens through the frozen model,
/// and the free experts (owned by no domain) whose removal costs the reference sets (general set and earlier
/// domains) least become its own, exclusively (see <see cref="ExpertAssignment.ExclusiveDomains"/>).
/// Training then runs under domain routing, so its tokens use only those experts: first the experts plus their
/// router rows (with the adaptive distillation term pulling those rows towards the pre-trained router), then, in
/// consolidation, the experts alone. Every other parameter, including the other rows of each router, stays
/// bit-identical, and no other routing row may select the new experts; earlier domains and the no-domain path
/// therefore only lose access to the experts the new domain took.
/// </summary>
public sealed class DomainAddition(MoeTransformer model, ITextTokenizer tokenizer, DomainAdditionOptions options)
{
    private readonly IReadOnlyList<RoledParameter> _parameters = ParameterRoles.Classify(model);

    public event Action<string>? Log;

    /// <param name="current">the served assignment (<see cref="ExpertAssignment.Empty"/> for a base model)</param>
    /// <param name="currentMatrix">the served specificity matrix, whose rows are carried over; null starts them blank</param>
    /// <param name="reference">
    /// the general set and earlier domains' held-out sets (by domain name; <see cref="DomainCatalog.GeneralName"/> for the
    /// no-domain path): what the new domain's experts should matter least to
    /// </param>
    public DomainAdditionRun Run(ExpertAssignment current, SpecificityMatrix? currentMatrix, string domain, IReadOnlyList<Example> train,
        IReadOnlyList<EvaluationSet> reference, Action<AdaptationProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var config = model.Config;
        if (current.Domains.Contains(domain)) throw new ArgumentException($"the model already has a domain named '{domain}'");
        if (train.Count == 0) throw new ArgumentException($"domain '{domain}' has no training examples");
        if (reference.Sum(r => r.Examples.Count) == 0) throw new ArgumentException("no reference examples to profile the routing against");
        int slots = options.ExpertsPerLayer == 0 ? config.TopK : options.ExpertsPerLayer;
        if (slots < config.TopK) throw new ArgumentException($"a domain needs at least top-k ({config.TopK}) experts per layer, got {slots}");

        if (current.NoRoomFor(slots, config.TopK) is { } problem) throw new ArgumentException(problem); // the model given cannot take the domain: a caller error, reported in one line
        torch.manual_seed(options.Seed);
        var clock = Stopwatch.StartNew();
        var newShare = RoutingShares.Of(model, tokenizer, train.Take(options.ProfileExamples).ToList(), bySelections: false);
        var experts = ChooseExperts(current, newShare, ExpertRemovalCost.Measure(model, tokenizer, current, reference, options.RemovalCostExamples), slots);
        var assignment = current.WithExclusiveDomain(domain, experts);
        var matrix = Matrix(current, currentMatrix, domain, newShare);
        Log?.Invoke($"profiled routing; '{domain}' owns experts per layer: " + string.Join("; ", experts.Select((e, l) => $"{l}=[{string.Join(",", e)}]")));

        int domainId = assignment.Domains.Count - 1;
        using var routing = new DomainRouting(assignment.RoutingTable(config.TopK), config.TopK);
        var ownExperts = experts.Select(e => (IReadOnlySet<int>)e.ToHashSet()).ToList();
        var expertParameters = _parameters.Where(p => p.Role == ParameterRole.RoutedExpert && ownExperts[p.Layer].Contains(p.Expert)).ToList();
        // The linear gate's rows only: an adaptive router's residual (a DES-MoE model) scores every expert for every
        // token, so training it would move the other domains' and the no-domain path's routing.
        var routerParameters = _parameters.Where(p => p.Role == ParameterRole.Router && p.Name.EndsWith(".router.gate.weight")).ToList();
        using var ownRows = new AdaptablePool(ownExperts, config.NumRoutedExperts);
        using var referenceRouters = new DisposableTensors(model.Layers.Select(l => l.Moe.Router.Weight.detach().clone()));

        int routerSteps = (int)Math.Round(options.Steps * options.RouterTrainingFraction);
        var learningRate = new LearningRateSchedule(options.LearningRate, options.WarmupLearningRateSteps, options.Steps);
        var distillation = new AdaptiveDistillationWeight(options.DistillationInitialWeight, options.DistillationTargetKl);
        var random = new Random(options.Seed);
        var curve = new List<(int, double)>();
        var window = new ProgressWindow([domain]);
        // One optimizer for the job; the router (stabilization only) trains the domain's own rows, the others keep
        // their value and moments, so the no-domain path and the earlier domains route exactly as before.
        using var optimizer = new AdamW([.. expertParameters.Select(p => p.Parameter), .. routerParameters.Select(p => p.Parameter)], options.LearningRate);
        foreach (var router in routerParameters)
        {
            using var rows = ownRows.RouterRows(router.Layer);
            optimizer.Restrict(router.Parameter, rows);
        }
        TrainingPhase? phase = null;
        long trainableCount = 0;

        model.train();
        try
        {
            for (int step = 0; step < options.Steps; step++)
            {
                cancellation.ThrowIfCancellationRequested();
                var next = step < routerSteps ? TrainingPhase.Stabilization : TrainingPhase.Consolidation;
                if (next != phase)
                {
                    phase = next;
                    var trainable = phase == TrainingPhase.Stabilization ? [.. expertParameters, .. routerParameters] : expertParameters;
                    foreach (var p in _parameters) p.Parameter.requires_grad = false;
                    foreach (var p in trainable) p.Parameter.requires_grad = true;
                    trainableCount = expertParameters.Sum(p => p.Parameter.numel())
                                     + (phase == TrainingPhase.Stabilization ? slots * config.HiddenSize * config.NumMoeLayers : 0);
                    Log?.Invoke($"step {step}: phase {phase}, {trainableCount:N0} trainable parameters");
                }
                optimizer.LearningRate = learningRate.At(step);

                using (NewDisposeScope())
                {
                    var examples = Enumerable.Range(0, options.BatchSize).Select(_ => train[random.Next(train.Count)]).ToList();
                    using var batch = SequenceBatch.Create(tokenizer, examples, config.MaxPositions);
                    var domainIds = Filled.Int64(options.BatchSize, domainId);
                    var output = model.Forward(batch.InputIds, batch.AttentionMask, domainIds: domainIds, domainRouting: routing);
                    var lmLoss = LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets);
                    var loss = LanguageModelLoss.WithBalance(lmLoss, output.BalanceLoss, config.AuxLossAlpha);
                    var kl = RouterDistillation.Drift(model, output.Routing, referenceRouters, batch.AttentionMask.view(-1));
                    bool routerTrains = phase == TrainingPhase.Stabilization;
                    using var klWeight = distillation.Value.ToScalar();
                    if (routerTrains && options.RouterDistillation) loss = loss.add(kl * klWeight, Scalars.One);

                    OptimizerStep.Take(optimizer, loss, options.GradientClip, routerTrains ? () => ownRows.MaskRouterGradients(model) : null);

                    double klValue = kl.item<float>(), lmValue = lmLoss.item<float>();
                    if (routerTrains && options.RouterDistillation) distillation.Observe(klValue);
                    window.AddStep(lmValue, klValue, batch.InputTokens);
                    window.AddDomainLoss(0, lmValue); // every row is the new domain's: its mean is the steps' mean
                    curve.Add((step + 1, lmValue));
                }

                if ((step + 1) % options.LogEvery == 0 || step == options.Steps - 1)
                    progress?.Invoke(window.Report(step + 1, options.Steps, phase, distillation.Value, clock.Elapsed));
            }
        }
        finally
        {
            foreach (var p in _parameters) p.Parameter.requires_grad = true;
            model.eval();
        }
        return new DomainAdditionRun(assignment, matrix, curve, clock.Elapsed.TotalSeconds, trainableCount);
    }

    /// <summary>
    /// Per layer, the free experts whose removal costs the reference sets least (every other row loses access to the
    /// new domain's experts), leaving every other row at least top-k experts; ties go to the experts the new domain
    /// uses most. Measured on the bundled model (intent, 300 steps): ranking by the reference's routing share instead
    /// cost the general set 6 points, by the new domain's relative use 11.
    /// </summary>
    private int[][] ChooseExperts(ExpertAssignment current, double[][] newShare, double[][] removalCost, int slots)
    {
        var assigned = current.AssignedPerLayer();
        int experts = model.Config.NumRoutedExperts;
        return Enumerable.Range(0, model.Config.NumMoeLayers).Select(l =>
        {
            var free = Enumerable.Range(0, experts).Where(e => !assigned[l].Contains(e)).ToList();
            return free.OrderBy(e => removalCost[l][e]).ThenByDescending(e => newShare[l][e]).Take(slots).Order().ToArray();
        }).ToArray();
    }

    private SpecificityMatrix Matrix(ExpertAssignment current, SpecificityMatrix? currentMatrix, string domain, double[][] newShare)
    {
        var config = model.Config;
        var matrix = new SpecificityMatrix([.. current.Domains, domain], config.NumMoeLayers, config.NumRoutedExperts);
        for (int l = 0; l < config.NumMoeLayers; l++)
        {
            for (int d = 0; d < current.Domains.Count; d++)
            {
                int old = currentMatrix?.Domains.ToList().IndexOf(current.Domains[d]) ?? -1;
                if (old < 0 || currentMatrix!.NumExperts != config.NumRoutedExperts || currentMatrix.NumLayers != config.NumMoeLayers) continue;
                matrix.Update(l, d, Enumerable.Range(0, config.NumRoutedExperts).Select(e => currentMatrix[l, old, e]).ToArray(), rate: 1.0);
            }
            matrix.Update(l, current.Domains.Count, newShare[l], rate: 1.0);
        }
        return matrix;
    }
}
