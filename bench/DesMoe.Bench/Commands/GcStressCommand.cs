using DesMoe.Cli.Commands;
using System.CommandLine;
using DesMoe.Bench.Stress;

namespace DesMoe.Bench.Commands;

/// <summary><c>desmoe-bench gc-stress</c>: many short domain additions under forced garbage collections, counting failures.</summary>
internal static class GcStressCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var runs = new Option<int>("--runs") { Description = "domain additions to run", DefaultValueFactory = _ => 200 };
        var parallel = new Option<int>("--parallel") { Description = "additions running at once, each on its own thread", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "training steps per addition", DefaultValueFactory = _ => 4 };
        var command = new Command("gc-stress", "Run many short domain additions (profile, removal cost, training) while another thread forces GCs and finalizers; print the failures.")
        {
            model, runs, parallel, steps,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var result = GcStress.Run(parse.GetValue(model)!, parse.GetValue(runs), parse.GetValue(parallel), parse.GetValue(steps),
                (done, total) => { if (done % 10 == 0 || done == total) Console.Error.WriteLine($"{done}/{total} runs"); });
            Console.WriteLine($"runs: {result.Runs}, failed: {result.Failures}, forced collections: {result.Collections:N0}, {result.Seconds:F0} s");
            foreach (var group in result.FailureMessages.GroupBy(m => m).OrderByDescending(g => g.Count()))
                Console.WriteLine($"  {group.Count()} x {group.Key}");
            return result.Failures == 0 ? 0 : 1;
        }));
        return command;
    }
}
