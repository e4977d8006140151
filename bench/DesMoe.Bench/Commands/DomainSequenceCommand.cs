using System.CommandLine;
using System.Diagnostics;
using DesMoe.Bench.Domains;
using DesMoe.Cli.Commands;
using DesMoe.Exporter.Graph;
using DesMoe.Formats.Data;

namespace DesMoe.Bench.Commands;

/// <summary>
/// <c>desmoe-bench domain-sequence</c>: ten domains added one after another to one model as expert copies, the way
/// AddDomain adds them; what each learns, that nothing earlier moves, and what each costs in memory and decode speed.
/// </summary>
internal static class DomainSequenceCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var data = new Option<string?>("--data") { Description = "a `desmoe data prepare` folder: adds its medicine, law, translation and math as four more domains (without it, the six generated domains only)" };
        var steps = new Option<int>("--steps") { Description = "training steps per domain", DefaultValueFactory = _ => 150 };
        var trainCount = new Option<int>("--train-examples") { Description = "generated training examples per generated domain", DefaultValueFactory = _ => 2000 };
        var evalCount = new Option<int>("--eval-examples") { Description = "held-out examples per domain", DefaultValueFactory = _ => 100 };
        var baseline = new Option<bool>("--baseline") { Description = "also add each domain alone to the base in the first form (routed as the no-domain path), same steps, to compare" };
        var checkpoints = new Option<int[]>("--measure-at") { Description = "domain counts at which to export and time decoding", DefaultValueFactory = _ => [0, 1, 5, 10], AllowMultipleArgumentsPerToken = true };
        var repeats = new Option<int>("--repeats") { Description = "interleaved timing rounds, each decoding once through every export and path (each figure: the median over the rounds)", DefaultValueFactory = _ => 9 };
        var saveOnly = new Option<bool>("--save-only") { Description = "save the versions at --measure-at but do not export or time them (for a machine busy with other work)" };
        var timeSaved = new Option<bool>("--time-saved") { Description = "only export and time the versions an earlier --save-only run left in --work-dir" };
        var work = new Option<string>("--work-dir") { Description = "folder for the model versions and exports (deleted first)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "desmoe-domain-sequence") };

        var command = new Command("domain-sequence", "Add ten domains to a model one after another as expert copies: accuracy of each, bit-identity of every earlier path, memory per domain, decode speed at 0 / 1 / 5 / 10 domains.")
        {
            model, data, steps, trainCount, evalCount, baseline, checkpoints, repeats, saveOnly, timeSaved, work,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var run = new DomainSequence(parse.GetValue(model)!, parse.GetValue(work)!, parse.GetValue(steps), parse.GetValue(checkpoints)!,
                parse.GetValue(repeats), [ExpertKernel.StandardOps, ExpertKernel.ContribMoe]);
            run.Log += Console.WriteLine;
            var clock = Stopwatch.StartNew();
            if (parse.GetValue(timeSaved))
            {
                DomainSequenceReport.PrintExports(run.TimeSaved(), Console.Out);
                Console.WriteLine($"\nwall {clock.Elapsed.TotalMinutes:F1} min, {Environment.ProcessorCount} cores");
                return 0;
            }
            var domains = SequenceDomains.Build(parse.GetValue(data), parse.GetValue(trainCount), parse.GetValue(evalCount), seed: 1);
            var result = run.Run(domains, parse.GetValue(baseline), timeExports: !parse.GetValue(saveOnly));
            DomainSequenceReport.Print(result, Console.Out);
            Console.WriteLine($"\nwall {clock.Elapsed.TotalMinutes:F1} min, {Environment.ProcessorCount} cores");
            return result.Additions.All(a => a.EarlierPathsIdentical) ? 0 : 1;
        }));
        return command;
    }
}
