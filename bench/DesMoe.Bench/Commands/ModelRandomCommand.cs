using DesMoe.Cli.Commands;
using System.CommandLine;
using System.Diagnostics;
using DesMoe.Formats.Hub;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Files;
using DesMoe.Formats.Config;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Bench.Commands;

/// <summary>
/// <c>desmoe-bench random-model</c>: a random-weight hub checkpoint of any supported config (e.g. a published one with fewer
/// layers), and <c>desmoe-bench hub-load</c>: the time and peak resident memory of loading a hub checkpoint.
/// </summary>
internal static class ModelRandomCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "config.json of a supported hub architecture (e.g. bench/configs/deepseek-v2-lite.config.json), or of this repository's own layout (bench/configs/desmoe-360m.config.json: fp32, servable)", Required = true };
        var output = new Option<string>("--out") { Description = "folder to write the checkpoint into", Required = true };
        var layers = new Option<int?>("--layers") { Description = "num_hidden_layers of the copy (default: the config's)" };
        var dtype = new Option<string>("--dtype") { Description = "float32, float16 or bfloat16", DefaultValueFactory = _ => "bfloat16" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var command = new Command("random-model", "Write a hub-layout checkpoint with random weights for a supported config, to measure real shapes without downloads.")
        {
            config, output, layers, dtype, seed,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var name = parse.GetValue(dtype)!;
            var type = RandomCheckpoint.DTypes.TryGetValue(name, out var known)
                ? known
                : throw new ArgumentException($"--dtype '{name}' is not supported ({string.Join(", ", RandomCheckpoint.DTypes.Keys)})");
            var clock = Stopwatch.StartNew();
            var configPath = parse.GetValue(config)!;
            bool native = IsNative(configPath);
            var result = native
                ? NativeRandom(configPath, parse.GetValue(output)!, parse.GetValue(layers), parse.GetValue(seed))
                : RandomCheckpoint.Write(configPath, parse.GetValue(output)!, type, parse.GetValue(layers), parse.GetValue(seed));
            Console.WriteLine($"wrote {result.Folder}: {result.Parameters:N0} parameters, {result.Bytes / 1e9:F2} GB of {(native ? "float32" : name)} in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }

    private static bool IsNative(string configPath) =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))?["model_type"]?.GetValue<string>() == new MoeConfig().ModelType;

    /// <summary>
    /// A random model in this repository's own layout (model_type "desmoe", fp32, the byte tokenizer): what the exporter
    /// and server take, for serving benchmarks at a real shape (bench/configs/desmoe-360m.config.json).
    /// </summary>
    private static RandomCheckpoint.Result NativeRandom(string configPath, string output, int? layers, int seed)
    {
        var config = MoeConfig.Load(configPath);
        if (layers is { } n) config = (config with { NumLayers = n }).Validate();
        TorchSharp.torch.manual_seed(seed);
        using var model = new MoeTransformer(config);
        ModelFolder.Save(output, model, new ByteTokenizer());
        return new RandomCheckpoint.Result(Path.GetFullPath(output), model.ParameterCount(), new FileInfo(Path.Combine(output, ModelFiles.WeightsFileName)).Length);
    }

    public static Command LoadBench()
    {
        var folder = new Argument<string>("folder") { Description = "hub-layout checkpoint folder" };
        var saveTo = new Option<string?>("--save-to") { Description = "then save it back there, in the hub layout, as adapt does after training" };
        var command = new Command("hub-load",
            "Load a hub checkpoint as the trainer, exporter and server do (the architecture's trainable form, weights held in the checkpoint's dtype) and print its size, the load time and the peak resident memory; optionally save it back.")
        {
            folder, saveTo,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var path = parse.GetValue(folder)!;
            long bytes = Directory.GetFiles(path, "*.safetensors").Sum(f => new FileInfo(f).Length);
            long before = PeakMemory.ResidentBytes;
            var clock = Stopwatch.StartNew();
            using var model = ModelFolder.Load(path);
            clock.Stop();
            long peak = PeakMemory.PeakResidentBytes, after = PeakMemory.ResidentBytes;
            Console.WriteLine($"checkpoint {bytes / 1e9:F2} GB, trainable form, weights held as {model.Model.WeightType}; load {clock.Elapsed.TotalSeconds:F1} s");
            Console.WriteLine($"resident before {before / 1e9:F2} GB, after {after / 1e9:F2} GB, peak {peak / 1e9:F2} GB = {peak / (double)bytes:F2}x the checkpoint");
            if (parse.GetValue(saveTo) is { } target)
            {
                clock.Restart();
                ModelFolder.Save(target, model);
                Console.WriteLine($"saved back to {target} in {clock.Elapsed.TotalSeconds:F1} s; peak {PeakMemory.PeakResidentBytes / 1e9:F2} GB = {PeakMemory.PeakResidentBytes / (double)bytes:F2}x the checkpoint");
            }
            return 0;
        }));
        return command;
    }
}
