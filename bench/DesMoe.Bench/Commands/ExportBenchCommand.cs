using DesMoe.Cli.Commands;
using System.CommandLine;
using DesMoe.Torch.Checkpoints;
using DesMoe.Onnx;
using DesMoe.Bench.Export;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using static TorchSharp.torch;

namespace DesMoe.Bench.Commands;

internal static class ExportBenchCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var prompt = new Option<int>("--prompt-tokens") { Description = "tokens per prompt in the prefill", DefaultValueFactory = _ => 32 };
        var decode = new Option<int>("--decode-tokens") { Description = "single-token decode steps after the prefill", DefaultValueFactory = _ => 32 };
        var batches = new Option<string>("--batch-sizes") { Description = "comma-separated batch sizes", DefaultValueFactory = _ => "1,8" };
        var repeats = new Option<int>("--repeats") { Description = "timed repetitions (after one warm-up)", DefaultValueFactory = _ => 5 };
        var quality = new Option<int>("--quality-examples")
        {
            Description = "held-out examples per set (general + the model's built-in domains) on which fp32 and quantized experts are scored; 0 skips",
            DefaultValueFactory = _ => 200,
        };

        var command = new Command("onnx", "Prefill and per-token decode latency and file size: TorchSharp eager vs the exported ONNX graph (both expert kernels; fp32, int8 and int4 experts; int8 compute) on ONNX Runtime CPU, and the quality quantization costs.")
        {
            model, prompt, decode, batches, repeats, quality,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var folder = parse.GetValue(model)!;
            using var loaded = ModelFolder.Load(folder);
            var work = Path.Combine(Path.GetTempPath(), $"desmoe-bench-{Guid.NewGuid():N}");
            try
            {
                var variants = new ExportOptions[]
                {
                    new() { Experts = ExpertKernel.StandardOps }, new() { Experts = ExpertKernel.ContribMoe },
                    new() { Experts = ExpertKernel.StandardOps, Quantization = ExpertQuantization.Int8 },
                    new() { Experts = ExpertKernel.StandardOps, Quantization = ExpertQuantization.Int4 },
                    new() { Experts = ExpertKernel.StandardOps, Quantization = ExpertQuantization.Int8, QuantizedCompute = QuantizedCompute.Int8 },
                    new() { Experts = ExpertKernel.StandardOps, Quantization = ExpertQuantization.Int4, QuantizedCompute = QuantizedCompute.Int8 },
                };
                var exports = variants.Select((v, index) =>
                {
                    var name = $"ONNX Runtime {v.Experts}" + (v.Quantization == ExpertQuantization.None ? "" : $" {v.Quantization}")
                               + (v.QuantizedCompute == QuantizedCompute.Int8 ? ", int8 compute" : "");
                    var exported = ModelExporter.Export(folder, Path.Combine(work, $"variant-{index}"), v);
                    Console.WriteLine($"{name,-44} model.onnx {exported.Manifest.ModelBytes / 1e6,8:F2} MB, parity {exported.Manifest.ParityMaxAbsError.Values.Max():E1}");
                    return (Name: name, Folder: exported.OutputFolder, Options: v);
                }).ToList();
                var decoders = exports.Select(x => (x.Name, Decoder: OnnxDecoder.Load(x.Folder, new OnnxSessionSettings { Provider = ExecutionProviderPreference.Cpu }))).ToList();
                Console.WriteLine($"model {loaded.Folder}: {loaded.Model.ParameterCount():N0} parameters; {Environment.ProcessorCount} cores, TorchSharp {get_num_threads()} threads, ONNX Runtime CPU");
                Console.WriteLine($"{"engine",-44} {"batch",5} {"prompt",6} {"prefill ms",11} {"decode ms/step",15} {"decode tok/s",13}");
                int p = parse.GetValue(prompt), d = parse.GetValue(decode), n = parse.GetValue(repeats);
                foreach (var batch in parse.GetValue(batches)!.Split(',').Select(int.Parse))
                {
                    var rows = new List<LatencyRow> { LatencyBenchmark.TorchSharp(loaded.Model, batch, p, d, n) };
                    rows.AddRange(decoders.Select(x => LatencyBenchmark.Onnx(x.Name, x.Decoder, batch, p, d, n)));
                    foreach (var r in rows)
                        Console.WriteLine($"{r.Engine,-44} {r.Batch,5} {r.PromptTokens,6} {r.PrefillMs,11:F2} {r.DecodeMsPerStep,15:F2} {r.DecodeTokensPerSecond,13:F0}");
                }
                foreach (var x in decoders) x.Decoder.Dispose();
                if (parse.GetValue(quality) is > 0 and var examples) QuantizationQuality.Print(
                    // ContribMoe computes what fp32 StandardOps does; scoring it again would only repeat that row.
                    exports.Where(x => x.Options.Experts != ExpertKernel.ContribMoe).Select(x => (x.Name, x.Folder)).ToList(), examples);
            }
            finally
            {
                if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
            }
            return 0;
        }));
        return command;
    }
}
