using System.CommandLine;
using DesMoe.Bench.Commands;
using DesMoe.Bench.Scenarios;

var root = new RootCommand("desmoe-bench: DesMoe's benchmarks and scenarios; each prints measured figures (bench/README.md says which doc keeps them).")
{
    ModelSpeedCommand.Create(),
    ExportBenchCommand.Create(),
    LoadBenchCommand.Create(),
    PeerBenchCommand.Create(),
    GcStressCommand.Create(),
    ModelRandomCommand.LoadBench(),
    ModelRandomCommand.Create(),
    ScenarioCommand.Create(),
    DomainSequenceCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
