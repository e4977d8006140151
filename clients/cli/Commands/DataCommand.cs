using System.CommandLine;
using DesMoe.Formats.Data;

namespace DesMoe.Cli.Commands;

internal static class DataCommand
{
    public static Command Create()
    {
        var domain = new Argument<string>("domain") { Description = "one of: " + string.Join(", ", DomainCatalog.Names) };
        var output = new Option<string>("--out") { Description = "training set JSONL to write", Required = true };
        var evalOutput = new Option<string?>("--eval-out") { Description = "held-out set JSONL to write (prompts disjoint from the training set)" };
        var count = new Option<int>("--count") { Description = "training examples", DefaultValueFactory = _ => 2000 };
        var evalCount = new Option<int>("--eval-count") { Description = "held-out examples", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "generator seed", DefaultValueFactory = _ => 1234 };

        var generate = new Command("generate", "Write a domain's seeded training (and held-out) set as JSONL.") { domain, output, evalOutput, count, evalCount, seed };
        generate.SetAction(parse => CliErrors.Run(() =>
        {
            var split = DatasetSplit.Create(DomainCatalog.Get(parse.GetValue(domain)!), parse.GetValue(count), parse.GetValue(evalCount), parse.GetValue(seed));
            Jsonl.Write(parse.GetValue(output)!, split.Train);
            Console.WriteLine($"wrote {split.Train.Count} examples to {parse.GetValue(output)}");
            if (parse.GetValue(evalOutput) is { } evalPath)
            {
                Jsonl.Write(evalPath, split.Eval);
                Console.WriteLine($"wrote {split.Eval.Count} held-out examples to {evalPath}");
            }
            return 0;
        }));

        var file = new Argument<string>("file") { Description = "JSONL file to check" };
        var check = new Command("check", "Validate a JSONL data file; bad lines are reported with file and line number.") { file };
        check.SetAction(parse => CliErrors.Run(() =>
        {
            var examples = Jsonl.Read(parse.GetValue(file)!);
            Console.WriteLine($"{parse.GetValue(file)}: {examples.Count} valid examples");
            return 0;
        }));

        var list = new Command("domains", "List the built-in domains and what they test.");
        list.SetAction(_ =>
        {
            foreach (var g in DomainCatalog.Domains.Append(DomainCatalog.General)) Console.WriteLine($"{g.Domain,-14} {g.Description}");
            return 0;
        });

        return new Command("data", "Generate, check, list, fetch and prepare datasets.") { generate, check, list, DataFetchCommands.Fetch(), DataFetchCommands.Prepare() };
    }
}
