using System.CommandLine;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Cli.Commands;

/// <summary><c>desmoe extend</c>: add one domain to a model folder offline, exactly as the server's AddDomain job does.</summary>
internal static class ExtendCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var domain = new Option<string>("--domain") { Description = "built-in domain to add (see `desmoe data`)" };
        var data = new Option<string?>("--data") { Description = "name=file.jsonl: add your own domain instead (10% held out)" };
        var output = new Option<string?>("--out") { Description = "model folder to write" };
        var steps = new Option<int>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => new DomainAdditionOptions().Steps };
        var batch = new Option<int>("--batch-size") { Description = "sequences per step", DefaultValueFactory = _ => new DomainAdditionOptions().BatchSize };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => new DomainAdditionOptions().LearningRate };
        var trainCount = new Option<int>("--train-examples") { Description = "generated training examples (built-in domains)", DefaultValueFactory = _ => 2000 };
        var evalCount = new Option<int>("--eval-examples") { Description = "held-out examples per set", DefaultValueFactory = _ => 100 };
        var slots = new Option<int>("--experts-per-layer") { Description = "routed experts per layer the new domain trains copies of (0 = top-k)", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "seed for data and training", DefaultValueFactory = _ => 1 };
        var unconfined = new Option<bool>("--route-as-general") { Description = "the first form, to measure against: the domain's tokens choose among all experts as the no-domain path does (default: among its copies only)" };

        var command = new Command("extend", "Add one domain to an adapted (or base) model folder with incremental DES-MoE: trained copies of experts, everything else bit-identical.")
        {
            model, domain, data, output, steps, batch, lr, trainCount, evalCount, slots, seed, unconfined,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CliErrors.Run(() =>
        {
            var (name, train, held) = Examples(parse.GetValue(domain), parse.GetValue(data), parse.GetValue(trainCount), parse.GetValue(evalCount), parse.GetValue(seed));
            using var loaded = ModelFolder.Load(parse.GetValue(model)!);
            var current = ExpertAssignment.LoadFrom(loaded.Folder, loaded.Config)
                          ?? ExpertAssignment.Empty(loaded.Config.NumMoeLayers, loaded.Config.NumRoutedExperts);
            var matrix = SpecificityMatrix.LoadFrom(loaded.Folder);

            var general = new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(parse.GetValue(evalCount) * 3));
            var before = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, current, NoDomainRouting.AllExperts, [general]);
            var addition = new DomainAddition(loaded.Model, loaded.Tokenizer, new DomainAdditionOptions
            {
                Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr), ExpertsPerLayer = parse.GetValue(slots), Seed = parse.GetValue(seed),
                ConfineToCopies = !parse.GetValue(unconfined),
            });
            addition.Log += message => Console.WriteLine($"  {message}");
            var run = addition.Run(current, matrix, name, train, p => Console.WriteLine(p), cancellation);
            var after = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, run.Assignment, NoDomainRouting.AllExperts,
                [general, new EvaluationSet(name, held)]);

            Console.WriteLine($"\n{"set",-14} {"before",8} {"after",8}");
            Console.WriteLine($"{name,-14} {"-",8} {after[name].Accuracy,8:P1}");
            Console.WriteLine($"{general.Name,-14} {before[general.Name].Accuracy,8:P1} {after[general.Name].Accuracy,8:P1}");
            Console.WriteLine($"wall {run.WallSeconds:F0} s, {run.TrainableParameters:N0} trainable parameters");
            if (parse.GetValue(output) is { } folder)
            {
                ModelFolder.Save(folder, loaded, new Dictionary<string, string>
                {
                    [ExpertAssignment.FileName] = run.Assignment.ToJson(),
                    [SpecificityMatrix.FileName] = run.Matrix.ToJson(),
                });
                Console.WriteLine($"saved {Path.GetFullPath(folder)}");
            }
            return 0;
        })));
        return command;
    }

    private static (string Name, IReadOnlyList<Example> Train, IReadOnlyList<Example> HeldOut) Examples(string? domain, string? data, int trainCount, int evalCount, int seed)
    {
        if ((domain is null) == (data is null)) throw new ArgumentException("give either --domain or --data name=file.jsonl");
        if (domain is not null)
        {
            var split = DatasetSplit.Create(DomainCatalog.Get(domain), trainCount, evalCount, seed);
            return (domain, split.Train, split.Eval);
        }
        return NamedDataFile.Read(data!, "--data");
    }
}
