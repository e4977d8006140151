using System.Text.Json;
using DesMoe.Formats.Tokenization;
using DesMoe.Formats.Files;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Tensors;
using DesMoe.Formats.Config;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Onnx;
using DesMoe.Exporter.Graph;
using DesMoe.Exporter.Onnx;
using DesMoe.Exporter.Onnx.Schema;
using static TorchSharp.torch;

using DesMoe.Formats.Chat;

namespace DesMoe.Exporter.Export;

/// <summary>What <see cref="ModelExporter.Export"/> wrote and measured.</summary>
public sealed record ExportResult(string OutputFolder, string ModelPath, ExportManifest Manifest, TimeSpan Elapsed);

/// <summary>
/// Turns a model folder (weights, config, tokenizer, optional <c>expert_assignment.json</c>) into an output folder
/// holding <c>model.onnx</c>, the tokenizer and config, the assignment, <see cref="ExportManifest"/> and, where ONNX Runtime
/// GenAI can run the graph, <see cref="GenAiConfig"/>'s <c>genai_config.json</c>. The folder
/// is staged and renamed into place only after ONNX Runtime has loaded the model and matched the TorchSharp logits,
/// so a failed export leaves no half-written output and an earlier export at the same path intact.
/// </summary>
public static class ModelExporter
{
    /// <summary>The largest logit gap accepted at export time (the parity tests use the same bound).</summary>
    public const double Tolerance = 1e-4;

    /// <summary>
    /// The bound under int8 compute, relative to the largest |reference logit|: int8 activations moved the logits by
    /// 0.3-2.3% of that scale on the bundled models (docs/export.md), while a graph bug (a wrong layout, weight or mask)
    /// moves them by the order of the scale itself.
    /// </summary>
    public const double Int8ComputeTolerance = 0.05;

    public static ExportResult Export(string modelFolder, string outputFolder, ExportOptions options, Action<string>? log = null) =>
        TensorLifetime.Scoped(() => ExportScoped(modelFolder, outputFolder, options, log));

    private static ExportResult ExportScoped(string modelFolder, string outputFolder, ExportOptions options, Action<string>? log)
    {
        log ??= _ => { };
        if (options.Quantization != ExpertQuantization.None && options.Experts != ExpertKernel.StandardOps)
            throw new ArgumentException($"quantized experts ({options.Quantization}) need the StandardOps expert kernel: the {options.Experts} operator takes float weights");
        if (options.Quantization != ExpertQuantization.None && options.Precision != WeightPrecision.Float32)
            throw new ArgumentException($"quantized experts ({options.Quantization}) keep the other weights in Float32; got precision {options.Precision}");
        if (options.QuantizedCompute != QuantizedCompute.Float32 && options.Quantization == ExpertQuantization.None)
            throw new ArgumentException($"{options.QuantizedCompute} compute applies to quantized experts only; quantize them too (--quantize-experts Int8 or Int4)");
        var started = DateTime.UtcNow;
        using var loaded = ModelFolder.Load(modelFolder);
        var config = loaded.Config;
        var assignment = ExpertAssignment.LoadFrom(modelFolder, config);
        var routingTable = assignment?.RoutingTable(config.TopK, options.NoDomain)
                           ?? ExpertAssignment.PlainRoutingTable(config.NumMoeLayers, config.NumRoutedExperts);
        var slotTable = assignment?.SlotTable();
        var domains = assignment?.Domains ?? [];
        var sourceHash = ModelFiles.WeightsSha256(modelFolder);

        var metadata = new Dictionary<string, string>
        {
            [OnnxMetadataKeys.FormatVersion] = OnnxMetadataKeys.CurrentFormatVersion.ToString(),
            [OnnxMetadataKeys.Domains] = JsonSerializer.Serialize(domains),
            [OnnxMetadataKeys.Tokenizer] = TokenizerFile.ToJson(loaded.Tokenizer),
            [OnnxMetadataKeys.Config] = config.ToJson(),
            [OnnxMetadataKeys.NoDomainRouting] = options.NoDomain.ToString(),
            [OnnxMetadataKeys.SourceSha256] = sourceHash,
            [OnnxMetadataKeys.ExpertKernel] = options.Experts.ToString(),
            [OnnxMetadataKeys.WeightPrecision] = options.Precision.ToString(),
            [OnnxMetadataKeys.ExpertQuantization] = options.Quantization.ToString(),
            [OnnxMetadataKeys.QuantizedCompute] = options.QuantizedCompute.ToString(),
        };
        if (assignment is not null) metadata[OnnxMetadataKeys.ExpertAssignment] = assignment.ToJson();

        ExportManifest? manifest = null;
        long parameters = loaded.Model.ParameterCount();
        long weightBytes = parameters * (options.Precision == WeightPrecision.Float16 ? 2 : 4);
        bool external = options.ExternalData ?? weightBytes > ExportOptions.ExternalDataAbove;
        AtomicDirectory.Write(outputFolder, staging =>
        {
            log($"building graph: {config.NumMoeLayers} layers, {config.NumRoutedExperts} experts (top-{config.TopK}){(config.DomainExpertCopies > 0 ? $" + {config.DomainExpertCopies} domain copies" : "")}, {domains.Count} domains, {options.Experts}, {options.Precision}"
                + (external ? $", weights streamed to {OnnxNames.ExternalDataFileName}" : ""));
            ModelProto model;
            long dataBytes = 0;
            using (var data = external ? new ExternalDataFile(Path.Combine(staging, OnnxNames.ExternalDataFileName)) : null)
            {
                var graph = DecoderGraph.Build(loaded.Model, routingTable, options, data, slotTable);
                model = OnnxModelFile.Create(graph, metadata);
                dataBytes = data?.Bytes ?? 0;
            }
            // Checked on the graph as built, so a graph change that GenAI cannot run drops the file instead of shipping a broken one.
            var genAiUnsupported = GenAiConfig.Unsupported(model.Graph, config, loaded.Tokenizer.Special);

            var modelPath = Path.Combine(staging, OnnxNames.ModelFileName);
            long bytes = OnnxModelFile.Write(model, modelPath) + dataBytes;
            log($"wrote {OnnxNames.ModelFileName}{(external ? $" + {OnnxNames.ExternalDataFileName}" : "")}: {bytes / 1e6:F1} MB, {model.Graph.Node.Count} nodes, {model.Graph.Initializer.Count} initializers");
            // A hub model's folder gets its own Hugging Face tokenizer.json, which ONNX Runtime GenAI and other tools read;
            // the server reads the tokenizer from the model's metadata either way.
            File.WriteAllText(Path.Combine(staging, TokenizerFile.FileName),
                loaded.Tokenizer is HubTextTokenizer hub ? hub.Tokenizer.Json : TokenizerFile.ToJson(loaded.Tokenizer));
            if (loaded.Tokenizer is HubTextTokenizer)
                File.WriteAllText(Path.Combine(staging, TokenizerFile.ExportFileName), TokenizerFile.ToJson(loaded.Tokenizer));
            File.WriteAllText(Path.Combine(staging, MoeConfig.FileName), config.ToJson());
            if (assignment is not null) File.WriteAllText(Path.Combine(staging, ExpertAssignment.FileName), assignment.ToJson());
            // The chat template travels with the export, so the HTTP API's chat route works from the export alone.
            foreach (var name in ChatTemplate.FileNames)
                if (File.Exists(Path.Combine(modelFolder, name))) File.Copy(Path.Combine(modelFolder, name), Path.Combine(staging, name));
            if (genAiUnsupported is null)
            {
                File.WriteAllText(Path.Combine(staging, GenAiConfig.FileName), GenAiConfig.ToJson(config, loaded.Tokenizer.Special));
                log($"wrote {GenAiConfig.FileName}: ONNX Runtime GenAI runs this folder on the no-domain path ({options.NoDomain}{(domains.Count > 0 ? $"; it cannot route by [{string.Join(", ", domains)}]" : "")})");
            }
            else log($"no {GenAiConfig.FileName}: {genAiUnsupported}");

            log("checking: ONNX Runtime vs TorchSharp logits, prefill + 4 decode steps, every domain id");
            var parity = Verify(loaded, routingTable, slotTable, domains.Count, modelPath, options);
            foreach (var p in parity) log($"  domain {p.DomainId,2} {p.Domain,-14} max |error| {p.MaxAbsError:E2} (largest |logit| {p.MaxAbsLogit:F2})");

            manifest = new ExportManifest
            {
                FormatVersion = OnnxMetadataKeys.CurrentFormatVersion,
                ModelFile = OnnxNames.ModelFileName,
                ModelBytes = bytes,
                ExternalDataFile = external ? OnnxNames.ExternalDataFileName : null,
                Opset = OnnxFormat.Opset,
                IrVersion = OnnxFormat.IrVersion,
                Nodes = model.Graph.Node.Count,
                Initializers = model.Graph.Initializer.Count,
                Parameters = parameters,
                ExpertKernel = options.Experts.ToString(),
                WeightPrecision = options.Precision.ToString(),
                ExpertQuantization = options.Quantization.ToString(),
                QuantizedCompute = options.QuantizedCompute.ToString(),
                NoDomainRouting = options.NoDomain.ToString(),
                Domains = domains,
                SourceFolder = Path.GetFullPath(modelFolder),
                SourceSha256 = sourceHash,
                ParityMaxAbsError = parity.ToDictionary(p => p.Domain, p => p.MaxAbsError),
                ParityMaxAbsLogit = parity.ToDictionary(p => p.Domain, p => p.MaxAbsLogit),
            };
            File.WriteAllText(Path.Combine(staging, ExportManifest.FileName), manifest.ToJson());
        });
        var folder = Path.GetFullPath(outputFolder);
        return new ExportResult(folder, Path.Combine(folder, OnnxNames.ModelFileName), manifest!, DateTime.UtcNow - started);
    }

    /// <summary>
    /// TorchSharp's logits first, then the model is let go (<paramref name="loaded"/> is disposed here) and ONNX Runtime
    /// loads the export: at real size the float32 session and the model would not fit in memory together.
    /// </summary>
    private static IReadOnlyList<DomainParity> Verify(LoadedModel loaded, IReadOnlyList<bool[,]> routingTable, IReadOnlyList<long[,]>? slotTable,
        int domains, string modelPath, ExportOptions options)
    {
        IReadOnlyList<ReferenceRun> references;
        using (var routing = new DomainRouting(routingTable, loaded.Config.TopK, slotTable))
        {
            if (options.Precision == WeightPrecision.Float16) RoundWeightsToHalf(loaded.Model);
            // Same reasoning for quantized experts: the reference computes with the dequantized weights the kernel uses.
            if (options.Quantization != ExpertQuantization.None) BlockQuantizer.RoundRoutedExperts(loaded.Model, options.Quantization);
            var prompts = new[] { "12+35=", "the cat sat on the" }.Select(p => (IReadOnlyList<int>)PromptFormat.EncodePrompt(loaded.Tokenizer, p)).ToList();
            references = ExportCheck.References(loaded.Model, routing, domains, prompts, decodeSteps: 4);
        }
        loaded.Dispose();
        using var decoder = OnnxDecoder.Load(modelPath, new OnnxSessionSettings { Provider = ExecutionProviderPreference.Cpu });
        if (decoder.Info.Domains.Count != domains)
            throw new InvalidDataException($"the export names {decoder.Info.Domains.Count} domains but the model has {domains}; nothing was written");
        var parity = ExportCheck.Compare(decoder, references);
        if (options.QuantizedCompute == QuantizedCompute.Int8)
        {
            var loosest = parity.MaxBy(p => p.MaxAbsError / p.MaxAbsLogit)!;
            if (!(loosest.MaxAbsError <= Int8ComputeTolerance * loosest.MaxAbsLogit))
                throw new InvalidDataException($"exported graph disagrees with the TorchSharp model beyond int8 compute's error: max |logit error| {loosest.MaxAbsError:E2} for domain '{loosest.Domain}' " +
                                               $"exceeds {Int8ComputeTolerance:P0} of its largest |logit| {loosest.MaxAbsLogit:F2}; nothing was written");
            return parity;
        }
        var worst = parity.MaxBy(p => p.MaxAbsError)!;
        if (!(worst.MaxAbsError <= Tolerance))
            throw new InvalidDataException($"exported graph disagrees with the TorchSharp model: max |logit error| {worst.MaxAbsError:E2} for domain '{worst.Domain}' exceeds {Tolerance:E0}; nothing was written");
        return parity;
    }

    /// <summary>
    /// fp16 storage rounds every weight; compared against the fp32 model, a router decision flipped by that rounding
    /// would look like a graph bug. The reference therefore gets the same rounding, and the check stays at fp32 precision.
    /// </summary>
    private static void RoundWeightsToHalf(MoeTransformer model)
    {
        model.HoldInFloat32(_ => true); // fp16's values are not all bf16's: the rounded reference is held in float32
        using var noGrad = no_grad();
        foreach (var p in model.parameters())
        {
            using var scope = NewDisposeScope(); // the rounded copies go now, not with the export's scope (7 GB at 1.2 B parameters)
            p.copy_(p.to(float16).to(float32));
        }
    }
}
