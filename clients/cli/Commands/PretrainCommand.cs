using System.CommandLine;
using DesMoe.Core.Config;
using DesMoe.Core.Data;
using DesMoe.Core.Tokenization;
using DesMoe.Trainer.Pretraining;
using TorchSharp;

namespace DesMoe.Cli.Commands;

internal static class PretrainCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "model folder to write", DefaultValueFactory = _ => "models/base" };
        var steps = new Option<int>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => 3000 };
        var batch = new Option<int>("--batch-size") { Description = "sequences per step", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 3e-3 };
        var seed = new Option<int>("--seed") { Description = "seed for initialisation, data and sampling", DefaultValueFactory = _ => GeneralSet.Seed };
        var trainExamples = new Option<int>("--train-examples") { Description = "size of the generated general set", DefaultValueFactory = _ => GeneralSet.PretrainExamples };
        var data = new Option<string?>("--data") { Description = "train on this JSONL file instead of the generated general set" };
        var evalData = new Option<string?>("--eval-data") { Description = "held-out JSONL file (default: generated general held-out set)" };
        var threads = new Option<int>("--threads") { Description = "CPU threads for TorchSharp (0 = all cores)", DefaultValueFactory = _ => 0 };

        var command = new Command("pretrain", "Train the byte-level base MoE model from random initialisation on the general set (CPU).")
        {
            output, steps, batch, lr, seed, trainExamples, data, evalData, threads,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CliErrors.Run(() =>
        {
            if (parse.GetValue(threads) is > 0 and var n) torch.set_num_threads(n);
            var tokenizer = new ByteTokenizer();
            var split = DatasetSplit.Create(DomainCatalog.General, parse.GetValue(trainExamples), 1000, parse.GetValue(seed));
            var train = parse.GetValue(data) is { } path ? Jsonl.Read(path) : split.Train;
            var eval = parse.GetValue(evalData) is { } evalPath ? Jsonl.Read(evalPath) : split.Eval;
            var options = new PretrainOptions
            {
                Model = MoeConfig.Small(tokenizer.VocabSize),
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                Seed = parse.GetValue(seed),
            };
            Console.WriteLine($"pre-training {options.Model.NumLayers}-layer MoE ({options.Model.NumRoutedExperts} experts, top-{options.Model.TopK}) " +
                              $"on {train.Count} examples, {options.Steps} steps x {options.BatchSize}, {torch.get_num_threads()} threads");
            var report = new Pretrainer(options, tokenizer).Run(train, eval, parse.GetValue(output)!, p => Console.WriteLine(p), cancellation);
            Console.WriteLine($"saved {Path.GetFullPath(parse.GetValue(output)!)}");
            Console.WriteLine($"wall time {report.WallSeconds:F0} s, {report.TokensPerSecond:F0} train tok/s, final loss {report.FinalLoss:F4}");
            Console.WriteLine($"general held-out exact match: {report.GeneralAccuracy:P1} of {report.EvalExamples}");
            return 0;
        })));
        return command;
    }
}
