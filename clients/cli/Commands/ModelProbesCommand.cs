using System.CommandLine;
using DesMoe.Formats.Data;
using DesMoe.Formats.Probes;
using DesMoe.Torch.Checkpoints;
using DesMoe.Trainer.Pretraining;
using TorchSharp;

namespace DesMoe.Cli.Commands;

/// <summary>
/// <c>desmoe model probes</c>: writes a model folder's general probes (<c>eval/</c>) from the held-out data it was
/// pre-trained against, as <c>desmoe pretrain</c> does at its end: for a model pre-trained before probes existed.
/// </summary>
internal static class ModelProbesCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("folder") { Description = "the model folder to give probes (its eval/ is replaced)" };
        var prepared = new Option<string?>("--data")
        {
            Description = "the `desmoe data prepare` folder it was pre-trained on with --corpus; without it, the bundled recipe's generated general set",
        };
        var perSource = new Option<int>("--held-out-per-source")
        {
            Description = "held-out examples per source, as pretrain's option of that name (task prompts are picked among them)",
            DefaultValueFactory = _ => new PretrainCorpus.Options().EvalPerSource,
        };
        var seed = new Option<int>("--seed") { Description = "pretrain's seed (the generated sets' held-out draw)", DefaultValueFactory = _ => GeneralSet.Seed };
        var passages = new Option<int>("--passages") { Description = "passages kept per text source", DefaultValueFactory = _ => new PretrainProbes.Options().PassagesPerText };
        var tasks = new Option<int>("--task-examples") { Description = "answered prompts kept per task source", DefaultValueFactory = _ => new PretrainProbes.Options().TaskExamples };
        var threads = new Option<int>("--threads") { Description = "CPU threads for TorchSharp (0 = all cores)", DefaultValueFactory = _ => 0 };
        var command = new Command("probes", "Write a model folder's general probes (eval/: held-out passages and task prompts it answers) from the held-out data it was pre-trained against.")
        {
            folder, prepared, perSource, seed, passages, tasks, threads,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            if (parse.GetValue(threads) is > 0 and var n) torch.set_num_threads(n);
            var modelFolder = parse.GetValue(folder)!;
            using var loaded = ModelFolder.Load(modelFolder);
            int heldOut = parse.GetValue(perSource);
            IReadOnlyList<MixtureSource> sources = parse.GetValue(prepared) is { } data
                ? PretrainCorpus.FromPrepared(data, new PretrainCorpus.Options { EvalPerSource = heldOut, Seed = parse.GetValue(seed) })
                : [new MixtureSource("general", [], GeneralSet.Split(heldOut).Eval, 1.0, MixtureProbe.ExactMatch)];
            var options = new PretrainProbes.Options { PassagesPerText = parse.GetValue(passages), TaskExamples = parse.GetValue(tasks) };
            var set = PretrainProbes.Build(loaded.Model, loaded.Tokenizer, sources, $"desmoe model probes (--held-out-per-source {heldOut})", options, Console.WriteLine)
                      ?? throw new InvalidOperationException($"{modelFolder}: no probe to write: its held-out sources hold no text and no general task it answers at least {options.MinTaskAccuracy:P0} of");
            ProbeFolder.Write(modelFolder, set);
            Console.WriteLine($"wrote {Path.GetFullPath(ProbeFolder.PathIn(modelFolder))}: {string.Join(", ", set.Probes.Select(p => $"{p.Name} ({p.Examples.Count})"))}");
            return 0;
        }));
        return command;
    }
}
