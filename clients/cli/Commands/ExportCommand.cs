using System.CommandLine;
using DesMoe.Formats.Experts;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;

namespace DesMoe.Cli.Commands;

internal static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("model-folder") { Description = "trained model folder (config.json, model.safetensors, tokenizer.json, optional expert_assignment.json)" };
        var target = new Argument<string>("out-folder") { Description = "folder to write model.onnx, tokenizer, config and manifest into (replaced atomically)" };
        var precision = new Option<WeightPrecision>("--precision") { Description = "weight storage: Float32, or Float16 (half the size, for GPU serving)", DefaultValueFactory = _ => WeightPrecision.Float32 };
        var kernel = new Option<ExpertKernel>("--experts") { Description = "routed-expert computation: ContribMoe (ONNX Runtime com.microsoft.MoE, fastest) or StandardOps (standard ops only, for other runtimes)", DefaultValueFactory = _ => ExpertKernel.ContribMoe };
        var noDomain = new Option<NoDomainRouting>("--no-domain-routing") { Description = "what domain id -1 routes to: AllExperts (the plain router) or UnassignedExperts", DefaultValueFactory = _ => NoDomainRouting.AllExperts };

        var quantize = new Option<ExpertQuantization>("--quantize-experts")
        {
            Description = "routed-expert weights: None, Int8 or Int4 (blockwise, ONNX Runtime MatMulNBits; needs --experts StandardOps)",
            DefaultValueFactory = _ => ExpertQuantization.None,
        };
        var compute = new Option<QuantizedCompute>("--quantized-compute")
        {
            Description = "what quantized experts compute in: Float32 (weights dequantized in the kernel; matches the dequantized model within 1e-4) " +
                          "or Int8 (int8 activations too: faster on CPUs with integer dot products, checked within 5% of the logits' scale)",
            DefaultValueFactory = _ => QuantizedCompute.Float32,
        };
        var externalData = new Option<bool?>("--external-data")
        {
            Description = "weights in model.onnx.data beside the graph (ONNX external data): true or false; by default, when they pass 1 GiB (protobuf's limit is 2 GB)",
        };
        var command = new Command("export", "Export a model folder to one ONNX model with domain-routed experts and a KV cache, checked against ONNX Runtime.")
        {
            source, target, precision, kernel, noDomain, quantize, compute, externalData,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var options = new ExportOptions
            {
                Precision = parse.GetValue(precision),
                Experts = parse.GetValue(kernel),
                NoDomain = parse.GetValue(noDomain),
                Quantization = parse.GetValue(quantize),
                QuantizedCompute = parse.GetValue(compute),
                ExternalData = parse.GetValue(externalData),
            };
            var result = ModelExporter.Export(parse.GetValue(source)!, parse.GetValue(target)!, options, Console.WriteLine);
            var m = result.Manifest;
            Console.WriteLine($"exported {result.ModelPath}: {m.ModelBytes / 1e6:F1} MB, {m.Nodes} nodes, {m.Parameters:N0} parameters, " +
                              $"domains [{string.Join(", ", m.Domains)}], opset {m.Opset}, in {result.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }
}
