using DesMoe.Core.Checkpoints;
using DesMoe.Core.Onnx;
using DesMoe.Exporter.Export;
using DesMoe.Server.Options;

namespace DesMoe.Server.Engine;

/// <summary>Builds the configured engine over the configured model, exporting a model folder to ONNX first when needed.</summary>
public static class EngineFactory
{
    public static IGenerationEngine Create(ServerOptions options, ILogger logger)
    {
        var source = string.IsNullOrWhiteSpace(options.ModelPath) ? BundledModel.Folder : options.ModelPath;
        if (options.Engine == EngineKind.TorchSharp)
        {
            if (options.Threads > 0) TorchSharp.torch.set_num_threads(options.Threads);
            return new TorchSharpEngine(source);
        }

        var exported = ResolveExport(source, options.ResolvedDataDirectory(), logger);
        var decoder = OnnxDecoder.Load(exported, new OnnxSessionSettings { Provider = options.ExecutionProvider, Threads = options.Threads });
        var manifestPath = Path.Combine(exported, ExportManifest.FileName);
        var manifest = File.Exists(manifestPath) ? System.Text.Json.JsonSerializer.Deserialize<ExportManifest>(File.ReadAllText(manifestPath)) : null;
        var version = decoder.Info.Metadata.GetValueOrDefault(OnnxMetadataKeys.SourceSha256, "unknown");
        return new OnnxBatchingEngine(decoder, new BatchingOptions { MaxBatch = options.MaxBatch, QueueCapacity = options.QueueSize },
            version[..Math.Min(12, version.Length)], manifest?.Parameters ?? 0, logger);
    }

    /// <summary>An exported folder is served as is; a model folder is exported once into the data directory, keyed by its weights' hash.</summary>
    private static string ResolveExport(string source, string dataDirectory, ILogger logger)
    {
        if (File.Exists(Path.Combine(source, OnnxNames.ModelFileName))) return source;
        if (!File.Exists(Path.Combine(source, ModelFolder.WeightsFileName)))
            throw new FileNotFoundException($"{source} holds neither {OnnxNames.ModelFileName} nor {ModelFolder.WeightsFileName}", source);
        var target = Path.Combine(dataDirectory, "exports", ModelFolder.WeightsSha256(source)[..16]);
        if (File.Exists(Path.Combine(target, ExportManifest.FileName))) return target;
        logger.LogInformation("Exporting {Source} to ONNX at {Target}", source, target);
        ModelExporter.Export(source, target, new Exporter.Graph.ExportOptions(), line => logger.LogInformation("export: {Line}", line));
        return target;
    }
}
