using System.CommandLine;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Tokenization;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Cli.Commands;

internal static class AdaptCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var method = new Option<AdaptationMethod>("--method")
        {
            Description = "FullFineTuning (the default: the best learning-forgetting frontier in docs/results.md), DesMoe (the paper's: one unified model, no label needed), " +
                          "DomainRouted (ours: routes by the domain at inference), Esft or Lora",
            // The method on the best frontier of the fair comparison (docs/desmoe.md, 2026-12-07): mixed full
            // fine-tuning learns 2-5x more than paper-mode DES-MoE at every level of forgetting on base-v2.
            DefaultValueFactory = _ => AdaptationMethod.FullFineTuning,
        };
        var domains = new Option<string>("--domains") { Description = "comma-separated built-in domains to adapt to", DefaultValueFactory = _ => "math,law" };
        var data = new Option<string[]>("--data") { Description = "name=file.jsonl (a tenth held out) or name=train.jsonl,eval.jsonl: train a domain on your own data instead (repeatable)", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--out") { Description = "model folder to write (with the specificity matrix and expert assignment)" };
        var steps = new Option<int>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => 600 };
        var batch = new Option<int>("--batch-size") { Description = "sequences per step, domains mixed", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 1e-3 };
        var trainCount = new Option<int>("--train-examples") { Description = "generated training examples per domain", DefaultValueFactory = _ => 3000 };
        var evalCount = new Option<int>("--eval-examples") { Description = "held-out examples per domain", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "seed for data, sampling and initialisation", DefaultValueFactory = _ => 1 };
        var noRouter = new Option<bool>("--no-adaptive-router") { Description = "ablation (DesMoe): keep the pre-trained linear router, no adaptive residual MLP" };
        var noDistillation = new Option<bool>("--no-distillation") { Description = "ablation: no router distillation" };
        var noIsolation = new Option<bool>("--no-isolation") { Description = "ablation (DesMoe): no expert-domain gradient masks" };
        var noSchedule = new Option<bool>("--no-schedule") { Description = "ablation: no consolidation phase (warm-up, then stabilization to the end)" };
        var warmupExperts = new Option<bool>("--warmup-trains-experts") { Description = "DesMoe: routed experts train in warm-up too (the paper's figure; its text freezes them)" };
        var frozenBackbone = new Option<bool>("--no-warmup-backbone") { Description = "DesMoe diagnostic: keep the backbone frozen in warm-up too (the paper trains it)" };
        var threshold = new Option<double>("--expert-threshold") { Description = "DesMoe: phi, an expert joins S_d at this fraction of the domain's most-used expert", DefaultValueFactory = _ => 0.6 };
        var refresh = new Option<int>("--matrix-refresh-every") { Description = "DesMoe: T_update, steps between refreshes of the expert-domain matrix and masks", DefaultValueFactory = _ => 25 };
        var phaseStability = new Option<double?>("--phase-stability")
        {
            Description = "end warm-up and stabilization early once the expert assignment moves by at most this fraction between checks (step fractions become upper limits)",
        };
        var domainRouting = new Option<bool>("--domain-routing")
        {
            Description = "evaluate with domain-routed expert selection even when training did not use it: each domain's held-out set on its own + unassigned experts, the general set on unassigned experts only",
        };
        var checkpoints = new Option<string?>("--checkpoint-dir")
        {
            Description = "save a resumable checkpoint here every --checkpoint-every steps; rerunning the same command continues from it",
        };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "steps between checkpoints", DefaultValueFactory = _ => 100 };
        var adaptable = new Option<int>("--adaptable-experts") { Description = "DomainRouted: routed experts per layer the domains may adapt (least removal cost on general data)", DefaultValueFactory = _ => 8 };

        var command = new Command("adapt", "Adapt a model to several domains with DES-MoE or a baseline, then evaluate every domain and the general set.")
        {
            model, method, domains, data, output, steps, batch, lr, trainCount, evalCount, seed, noRouter, noDistillation, noIsolation, noSchedule, warmupExperts, frozenBackbone,
            threshold, refresh, phaseStability, domainRouting, adaptable, checkpoints, checkpointEvery,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CliErrors.Run(() =>
        {
            // --data replaces the default built-in domains; named together, both sets are adapted to.
            bool ownDataOnly = parse.GetResult(domains) is null or { Implicit: true } && parse.GetValue(data) is { Length: > 0 };
            var names = ownDataOnly ? [] : parse.GetValue(domains)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            using var loaded = ModelFolder.Load(parse.GetValue(model)!);
            var train = new List<IReadOnlyList<Example>>();
            var eval = new List<IReadOnlyList<Example>>();
            foreach (var name in names)
            {
                var split = DatasetSplit.Create(DomainCatalog.Get(name), parse.GetValue(trainCount), parse.GetValue(evalCount), parse.GetValue(seed));
                train.Add(split.Train);
                eval.Add(split.Eval);
            }
            foreach (var spec in parse.GetValue(data) ?? [])
            {
                var (name, own, heldOut) = NamedDataFile.Read(spec, "--data");
                if (names.Contains(name)) throw new ArgumentException($"domain '{name}' is named twice (in --domains and --data, or in two --data options)");
                names.Add(name);
                train.Add(FittingExamples(loaded, name, "training", own));
                eval.Add(FittingExamples(loaded, name, "held-out", heldOut));
            }
            var sets = names.Select((name, i) => new EvaluationSet(name, eval[i])).Append(new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(300))).ToList();

            var before = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, null, NoDomainRouting.UnassignedExperts, sets);
            var options = AdaptationOptions.For(parse.GetValue(method)) with
            {
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                Seed = parse.GetValue(seed),
                AdaptiveRouter = !parse.GetValue(noRouter),
                RouterDistillation = !parse.GetValue(noDistillation),
                GradientIsolation = !parse.GetValue(noIsolation),
                ProgressiveSchedule = !parse.GetValue(noSchedule),
                WarmupTrainsExperts = parse.GetValue(warmupExperts),
                WarmupTrainsBackbone = !parse.GetValue(frozenBackbone),
                ExpertThreshold = parse.GetValue(threshold),
                MatrixRefreshEvery = parse.GetValue(refresh),
                PhaseStabilityThreshold = parse.GetValue(phaseStability),
                AdaptableExperts = parse.GetValue(adaptable),
                CheckpointDirectory = parse.GetValue(checkpoints),
                CheckpointEvery = parse.GetValue(checkpointEvery),
            };
            Console.WriteLine($"adapting with {options.Method} to {string.Join(", ", names)}: {options.Steps} steps x {options.BatchSize}");
            var trainer = new AdaptationTrainer(loaded.Model, loaded.Tokenizer, options);
            trainer.Log += message => Console.WriteLine($"  {message}");
            var run = trainer.Run(names, train, p => Console.WriteLine(p), cancellation, generalReference: GeneralSet.PretrainSample(256));
            var routedBy = run.DomainRouted || parse.GetValue(domainRouting) ? run.Assignment : null;
            var after = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, routedBy, NoDomainRouting.UnassignedExperts, sets);
            // Without a label every set takes the no-domain path (for a model without domain routing: its router alone).
            var unlabelled = routedBy is null ? after : RoutedEvaluation.EvaluateUnlabelled(loaded.Model, loaded.Tokenizer, routedBy, NoDomainRouting.UnassignedExperts, sets);

            Console.WriteLine($"\n{"set",-14} {"before",8} {"after",8} {"no label",9}");
            foreach (var key in before.Keys) Console.WriteLine($"{key,-14} {before[key].Accuracy,8:P1} {after[key].Accuracy,8:P1} {unlabelled[key].Accuracy,9:P1}");
            string generalName = DomainCatalog.GeneralName;
            Console.WriteLine($"forgetting (general accuracy drop): {before[generalName].Accuracy - after[generalName].Accuracy:P1}   wall {run.WallSeconds:F0} s");
            if (run.Matrix is not null) Console.WriteLine("\nspecificity matrix (% of each domain's expert selections):\n" + run.Matrix.ToTable());

            if (parse.GetValue(output) is { } folder)
            {
                var extra = new Dictionary<string, string>();
                if (run.Matrix is not null) extra[SpecificityMatrix.FileName] = run.Matrix.ToJson();
                // Only a domain-routed model routes by its assignment when served; DES-MoE's masks are a training record.
                if (run.Assignment is not null) extra[run.DomainRouted ? ExpertAssignment.FileName : AdaptationRun.MasksFileName] = run.Assignment.ToJson();
                ModelFolder.Save(folder, loaded, extra);
                Console.WriteLine($"saved {Path.GetFullPath(folder)}");
                if (run.Matrix is not null)
                {
                    var heatmap = Path.Combine(folder, "specificity_matrix.png");
                    DesMoe.Trainer.Comparison.Reporting.Charts.SpecificityHeatmap(run.Matrix, heatmap);
                    Console.WriteLine($"heat map {Path.GetFullPath(heatmap)}");
                }
            }
            return 0;
        })));
        return command;
    }

    /// <summary>
    /// The examples whose whole sequence fits the model's context, saying how many were left out: one over-long line in
    /// a user's file should not stop the run (compare and pre-training filter the same way). None left is an error.
    /// </summary>
    private static IReadOnlyList<Example> FittingExamples(LoadedModel loaded, string domain, string kind, IReadOnlyList<Example> examples)
    {
        int context = loaded.Config.MaxPositions;
        var fitting = examples.Where(e => PromptFormat.Fits(loaded.Tokenizer, e, context)).ToList();
        if (fitting.Count == 0)
            throw new ArgumentException($"--data {domain}: none of its {examples.Count} {kind} examples fits the model's context of {context} tokens");
        if (fitting.Count < examples.Count)
            Console.WriteLine($"--data {domain}: left out {examples.Count - fitting.Count} of {examples.Count} {kind} examples longer than the model's context of {context} tokens");
        return fitting;
    }
}
