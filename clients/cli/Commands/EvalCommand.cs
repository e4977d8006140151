using System.CommandLine;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Evaluation;

namespace DesMoe.Cli.Commands;

internal static class EvalCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var domain = new Option<string>("--domain") { Description = "built-in domain whose held-out set to use", DefaultValueFactory = _ => DomainCatalog.GeneralName };
        var data = new Option<string?>("--data") { Description = "evaluate on this JSONL file instead" };
        var count = new Option<int>("--examples") { Description = "held-out examples to generate", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "seed the held-out set is generated from (the training seed keeps it disjoint)", DefaultValueFactory = _ => GeneralSet.Seed };
        var trainCount = new Option<int>("--train-examples") { Description = "training-set size the held-out set must be disjoint from", DefaultValueFactory = _ => GeneralSet.PretrainExamples };
        var metric = new Option<TaskMetric>("--metric") { Description = "also score each answer by this metric (RougeL for summaries)", DefaultValueFactory = _ => TaskMetric.ExactMatch };
        var misses = new Option<int>("--misses") { Description = "wrong answers to print", DefaultValueFactory = _ => 5 };

        var command = new Command("eval", "Greedy exact-match accuracy (and optionally ROUGE-L) of a model on a held-out set.") { model, domain, data, count, seed, trainCount, metric, misses };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            using var loaded = ModelFolder.Load(parse.GetValue(model)!);
            var examples = parse.GetValue(data) is { } path
                ? Jsonl.Read(path)
                : DatasetSplit.Create(DomainCatalog.Get(parse.GetValue(domain)!), parse.GetValue(trainCount), parse.GetValue(count), parse.GetValue(seed)).Eval;
            var result = ExactMatchEvaluator.Evaluate(loaded.Model, loaded.Tokenizer, examples, keepFailures: parse.GetValue(misses), metric: parse.GetValue(metric));
            foreach (var (example, answer) in result.Failures)
                Console.WriteLine($"  miss: {example.Prompt} -> expected \"{example.Completion}\", got \"{answer}\"");
            Console.WriteLine($"exact match: {result.Accuracy:P2} ({result.Correct}/{result.Total})");
            if (parse.GetValue(metric) != TaskMetric.ExactMatch) Console.WriteLine($"{parse.GetValue(metric)}: {result.Score:P2}");
            return 0;
        }));
        return command;
    }
}
