using System.CommandLine;
using DesMoe.Core.Checkpoints;
using DesMoe.Core.Data;
using DesMoe.Core.Evaluation;
using DesMoe.Core.Model;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Cli.Commands;

internal static class AdaptCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var method = new Option<AdaptationMethod>("--method") { Description = "DesMoe, FullFineTuning or Esft", DefaultValueFactory = _ => AdaptationMethod.DesMoe };
        var domains = new Option<string>("--domains") { Description = "comma-separated built-in domains to adapt to", DefaultValueFactory = _ => "math,law" };
        var data = new Option<string[]>("--data") { Description = "name=file.jsonl: train a domain on your own data instead (repeatable)", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--out") { Description = "model folder to write (with the specificity matrix and expert assignment)" };
        var steps = new Option<int>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => 600 };
        var batch = new Option<int>("--batch-size") { Description = "sequences per step, domains mixed", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 1e-3 };
        var trainCount = new Option<int>("--train-examples") { Description = "generated training examples per domain", DefaultValueFactory = _ => 3000 };
        var evalCount = new Option<int>("--eval-examples") { Description = "held-out examples per domain", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "seed for data, sampling and initialisation", DefaultValueFactory = _ => 1 };
        var noDistillation = new Option<bool>("--no-distillation") { Description = "ablation: no router distillation" };
        var noIsolation = new Option<bool>("--no-isolation") { Description = "ablation: no specificity-matrix gradient isolation" };
        var noSchedule = new Option<bool>("--no-schedule") { Description = "ablation: no consolidation phase (warm-up, then stabilization to the end)" };
        var phaseStability = new Option<double?>("--phase-stability")
        {
            Description = "end warm-up and stabilization early once the expert assignment moves by at most this fraction between checks (step fractions become upper limits)",
        };
        var domainRouting = new Option<bool>("--domain-routing")
        {
            Description = "evaluate with domain-routed expert selection even when training did not use it: each domain's held-out set on its own + unassigned experts, the general set on unassigned experts only",
        };
        var plainRouting = new Option<bool>("--no-domain-routed-training")
        {
            Description = "DES-MoE trains every token through the plain router (isolation by detaching other domains' expert outputs) instead of as served",
        };
        var checkpoints = new Option<string?>("--checkpoint-dir")
        {
            Description = "save a resumable checkpoint here every --checkpoint-every steps; rerunning the same command continues from it",
        };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "steps between checkpoints", DefaultValueFactory = _ => 100 };
        var adaptable = new Option<int>("--adaptable-experts") { Description = "routed experts per layer DES-MoE may adapt (least removal cost on general data)", DefaultValueFactory = _ => 8 };

        var command = new Command("adapt", "Adapt a model to several domains with DES-MoE or a baseline, then evaluate every domain and the general set.")
        {
            model, method, domains, data, output, steps, batch, lr, trainCount, evalCount, seed, noDistillation, noIsolation, noSchedule, phaseStability, domainRouting, plainRouting, adaptable, checkpoints, checkpointEvery,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CliErrors.Run(() =>
        {
            var names = parse.GetValue(domains)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
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
                names.Add(name);
                train.Add(own);
                eval.Add(heldOut);
            }
            var sets = names.Select((name, i) => new EvaluationSet(name, eval[i])).Append(new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(300))).ToList();

            using var loaded = ModelFolder.Load(parse.GetValue(model)!);
            var before = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, null, NoDomainRouting.UnassignedExperts, sets);
            var options = new AdaptationOptions
            {
                Method = parse.GetValue(method),
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                Seed = parse.GetValue(seed),
                RouterDistillation = !parse.GetValue(noDistillation),
                GradientIsolation = !parse.GetValue(noIsolation),
                ProgressiveSchedule = !parse.GetValue(noSchedule),
                PhaseStabilityThreshold = parse.GetValue(phaseStability),
                DomainRoutedTraining = !parse.GetValue(plainRouting),
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

            Console.WriteLine($"\n{"set",-14} {"before",8} {"after",8}");
            foreach (var key in before.Keys) Console.WriteLine($"{key,-14} {before[key].Accuracy,8:P1} {after[key].Accuracy,8:P1}");
            string generalName = DomainCatalog.GeneralName;
            Console.WriteLine($"forgetting (general accuracy drop): {before[generalName].Accuracy - after[generalName].Accuracy:P1}   wall {run.WallSeconds:F0} s");
            if (run.Matrix is not null) Console.WriteLine("\nspecificity matrix (% of each domain's expert selections):\n" + run.Matrix.ToTable());

            if (parse.GetValue(output) is { } folder)
            {
                var extra = new Dictionary<string, string>();
                if (run.Matrix is not null) extra[SpecificityMatrix.FileName] = run.Matrix.ToJson();
                if (run.Assignment is not null) extra[ExpertAssignment.FileName] = run.Assignment.ToJson();
                ModelFolder.Save(folder, loaded.Model, loaded.Tokenizer, extra);
                Console.WriteLine($"saved {Path.GetFullPath(folder)}");
                if (run.Matrix is not null)
                {
                    var heatmap = Path.Combine(folder, "specificity_matrix.png");
                    DesMoe.Trainer.Reporting.Charts.SpecificityHeatmap(run.Matrix, heatmap);
                    Console.WriteLine($"heat map {Path.GetFullPath(heatmap)}");
                }
            }
            return 0;
        })));
        return command;
    }
}
