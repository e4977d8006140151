using System.Diagnostics;
using DesMoe.Formats.Data;
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
/// Incremental DES-MoE with duplicated experts: adds one domain to a model that already serves others, in place,
/// without changing what anything else computes. The new domain gets a row in the specificity matrix from profiling
/// its tokens through the frozen model; in every layer the routed experts it uses most (by router probability on its
/// tokens) are copied into new expert slots (<see cref="MoeTransformer.AddExpertCopies"/>), and only the copies train.
/// Its requests are scored by the unchanged router's weights, among the copied experts only (confined, the default)
/// or among all as the no-domain path scores them, and each chosen expert that has a copy runs as the copy
/// (<see cref="ExpertAssignment.SlotTable"/>). Every existing parameter stays bit-identical and no other routing row
/// can reach a copy, so the no-domain path and the earlier domains compute exactly what they computed before. The
/// router's weights are shared with the no-domain path, so they do not train: the paper's stabilization phase has
/// nothing it may move here, and the run is consolidation throughout.
/// </summary>
public sealed class DomainAddition(MoeTransformer model, ITextTokenizer tokenizer, DomainAdditionOptions options)
{
    public event Action<string>? Log;

    /// <param name="current">the served assignment (<see cref="ExpertAssignment.Empty"/> for a base model)</param>
    /// <param name="currentMatrix">the served specificity matrix, whose rows are carried over; null starts them blank</param>
    public DomainAdditionRun Run(ExpertAssignment current, SpecificityMatrix? currentMatrix, string domain, IReadOnlyList<Example> train,
        Action<AdaptationProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var config = model.Config;
        if (current.Domains.Contains(domain)) throw new ArgumentException($"the model already has a domain named '{domain}'");
        if (train.Count == 0) throw new ArgumentException($"domain '{domain}' has no training examples");
        if (current.UsedCopySlots != config.DomainExpertCopies)
            throw new ArgumentException($"the assignment's domains use {current.UsedCopySlots} copy slots per layer but the model has {config.DomainExpertCopies}");
        int slots = options.ExpertsPerLayer == 0 ? config.TopK : options.ExpertsPerLayer;
        if (slots > config.NumRoutedExperts) throw new ArgumentException($"{slots} copies per layer of {config.NumRoutedExperts} routed experts");

        torch.manual_seed(options.Seed);
        var clock = Stopwatch.StartNew();
        var newShare = RoutingShares.Of(model, tokenizer, train.Take(options.ProfileExamples).ToList(), bySelections: false);
        var sources = ChooseSources(current, newShare, slots);
        int firstSlot = model.AddExpertCopies(sources);
        var assignment = current.WithCopiedDomain(domain, sources, firstSlot, options.ConfineToCopies);
        var matrix = Matrix(current, currentMatrix, domain, newShare);
        Log?.Invoke($"profiled routing; '{domain}' trains copies of experts per layer: " + string.Join("; ", sources.Select((e, l) => $"{l}=[{string.Join(",", e)}]")));

        int domainId = assignment.Domains.Count - 1;
        using var routing = DomainRouting.For(assignment, config.TopK, NoDomainRouting.AllExperts);
        var copySlots = Enumerable.Range(firstSlot, slots).ToHashSet();
        var copies = ParameterRoles.Classify(model).Where(p => p.Role == ParameterRole.RoutedExpert && copySlots.Contains(p.Expert)).Select(p => p.Parameter).ToList();
        long trainable = copies.Sum(p => p.numel());
        Log?.Invoke($"{trainable:N0} trainable parameters: {slots} expert copies in each of {config.NumMoeLayers} layers");

        var learningRate = new LearningRateSchedule(options.LearningRate, options.WarmupLearningRateSteps, options.Steps);
        var random = new Random(options.Seed);
        var curve = new List<(int, double)>();
        var window = new ProgressWindow([domain]);
        using var optimizer = new AdamW(copies, options.LearningRate);
        var all = model.parameters().ToList();

        model.train();
        try
        {
            foreach (var p in all) p.requires_grad = false;
            foreach (var p in copies) p.requires_grad = true;
            for (int step = 0; step < options.Steps; step++)
            {
                cancellation.ThrowIfCancellationRequested();
                optimizer.LearningRate = learningRate.At(step);
                using (NewDisposeScope())
                {
                    var examples = Enumerable.Range(0, options.BatchSize).Select(_ => train[random.Next(train.Count)]).ToList();
                    using var batch = SequenceBatch.Create(tokenizer, examples, config.MaxPositions);
                    var domainIds = Filled.Int64(options.BatchSize, domainId);
                    var output = model.Forward(batch.InputIds, batch.AttentionMask, domainIds: domainIds, domainRouting: routing);
                    // No balance term: it trains the router only, which stays frozen.
                    var loss = LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets);
                    OptimizerStep.Take(optimizer, loss, options.GradientClip);

                    double lossValue = loss.item<float>();
                    window.AddStep(lossValue, routerKl: 0, batch.InputTokens);
                    window.AddDomainLoss(0, lossValue); // every row is the new domain's: its mean is the steps' mean
                    curve.Add((step + 1, lossValue));
                }

                if ((step + 1) % options.LogEvery == 0 || step == options.Steps - 1)
                    progress?.Invoke(window.Report(step + 1, options.Steps, TrainingPhase.Consolidation, distillationWeight: 0, clock.Elapsed));
            }
        }
        finally
        {
            foreach (var p in all) p.requires_grad = true;
            model.eval();
        }
        return new DomainAdditionRun(assignment, matrix, curve, clock.Elapsed.TotalSeconds, trainable);
    }

    /// <summary>
    /// Per layer, the <paramref name="slots"/> experts the new domain's tokens give the most router probability, among
    /// those its routing row (the no-domain path's) may choose: the ones whose copies its tokens will reach most.
    /// </summary>
    private int[][] ChooseSources(ExpertAssignment current, double[][] newShare, int slots)
    {
        var table = current.RoutingTable(model.Config.TopK, NoDomainRouting.AllExperts);
        return Enumerable.Range(0, model.Config.NumMoeLayers).Select(l =>
            Enumerable.Range(0, model.Config.NumRoutedExperts).Where(e => table[l][0, e])
                .OrderByDescending(e => newShare[l][e]).ThenBy(e => e).Take(slots).Order().ToArray()).ToArray();
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
