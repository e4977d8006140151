using System.CommandLine;
using System.Text;
using DesMoe.Formats.Hub;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Tokenization;
using DesMoe.Formats.Config;
using DesMoe.Formats.Data;
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
        var corpus = new Option<string?>("--corpus") { Description = "pre-train on the mixture in this `desmoe data prepare` folder (English passages, general skills, a pool of each domain) instead of the generated general set" };
        var hubConfig = new Option<string?>("--hub-config") { Description = "a hub config.json (e.g. deepseek_v2): the architecture to pre-train, saved in that hub layout with the byte vocabulary as tokenizer.json" };
        var heldOut = new Option<int>("--held-out-per-source") { Description = "with --corpus: held-out examples scored per source after training", DefaultValueFactory = _ => new PretrainCorpus.Options().EvalPerSource };
        var domainPool = new Option<int>("--domain-pool") { Description = "with --corpus: training examples kept per domain", DefaultValueFactory = _ => new PretrainCorpus.Options().DomainPool };

        var command = new Command("pretrain", "Train a byte-level base MoE model from random initialisation: the bundled recipe on the general set, or --corpus with --hub-config for a real-text mixture in a hub layout (CPU).")
        {
            output, steps, batch, lr, seed, trainExamples, data, evalData, threads, corpus, hubConfig, domainPool, heldOut,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CliErrors.Run(() =>
        {
            if (parse.GetValue(threads) is > 0 and var n) torch.set_num_threads(n);
            ITextTokenizer tokenizer = new ByteTokenizer();
            var model = MoeConfig.Small(tokenizer.VocabSize);
            HubOrigin? hub = null;
            if (parse.GetValue(hubConfig) is { } configPath)
            {
                if (!File.Exists(configPath)) throw new FileNotFoundException($"--hub-config {configPath}: no such file", configPath);
                var files = new Dictionary<string, byte[]>
                {
                    [HubFolder.ConfigFileName] = File.ReadAllBytes(configPath),
                    [GenerationConfig.FileName] = Encoding.UTF8.GetBytes(ByteTokenizerJson.GenerationConfig()),
                    [HubFolder.TokenizerFileName] = Encoding.UTF8.GetBytes(ByteTokenizerJson.Write()),
                };
                (model, var hubTokenizer, hub) = HubTrainableFolder.Blank(files, configPath);
                tokenizer = hubTokenizer;
            }
            var options = new PretrainOptions
            {
                Model = model,
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                Seed = parse.GetValue(seed),
            };
            PretrainMixture mixture;
            if (parse.GetValue(corpus) is { } prepared)
                mixture = new PretrainMixture(PretrainCorpus.FromPrepared(prepared, new PretrainCorpus.Options { DomainPool = parse.GetValue(domainPool), EvalPerSource = parse.GetValue(heldOut), Seed = parse.GetValue(seed) }),
                    tokenizer, model.MaxPositions);
            else
            {
                var split = DatasetSplit.Create(DomainCatalog.General, parse.GetValue(trainExamples), 1000, parse.GetValue(seed));
                var train = parse.GetValue(data) is { } path ? Jsonl.Read(path) : split.Train;
                var eval = parse.GetValue(evalData) is { } evalPath ? Jsonl.Read(evalPath) : split.Eval;
                if (train.Count == 0) throw new ArgumentException("the training set is empty");
                mixture = PretrainMixture.Single(train, eval.Take(options.EvalExamples).ToList(), tokenizer, model.MaxPositions);
            }
            Console.WriteLine($"pre-training {model.NumLayers}-layer MoE ({(model.SourceModelType ?? model.ModelType)}, {model.NumRoutedExperts} experts, top-{model.TopK}, " +
                              $"context {model.MaxPositions}) on {mixture.TrainExamples:N0} examples, {options.Steps} steps x {options.BatchSize}, {torch.get_num_threads()} threads");
            foreach (var source in mixture.Sources)
                Console.WriteLine($"  {source.Name,-22} {source.Train.Count,8:N0} train {source.Eval.Count,5} held out  weight {source.Weight:F3}" +
                                  (mixture.Dropped[source.Name] > 0 ? $"  ({mixture.Dropped[source.Name]} over the context left out)" : ""));
            var report = new Pretrainer(options, tokenizer).Run(mixture, parse.GetValue(output)!, hub, p => Console.WriteLine(p), cancellation);
            Console.WriteLine($"saved {Path.GetFullPath(parse.GetValue(output)!)}");
            Console.WriteLine($"wall time {report.WallSeconds:F0} s, {report.TokensPerSecond:F0} train tok/s, final loss {report.FinalLoss:F4}");
            foreach (var result in report.Sources ?? [new SourceResult("general", "exact_match", report.GeneralAccuracy, report.EvalExamples)])
                Console.WriteLine(result.Metric == "loss"
                    ? $"  {result.Source,-22} held-out loss {result.Value:F3} nats/token (perplexity {Math.Exp(result.Value):F2}) on {result.Examples}"
                    : $"  {result.Source,-22} held-out exact match {result.Value:P1} of {result.Examples}");
            return 0;
        })));
        return command;
    }
}
