using DesMoe.Core.Onnx;
using DesMoe.Exporter.Export;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;

namespace DesMoe.Server.Engine;

/// <summary>Builds the configured engine over one model version.</summary>
public static class EngineFactory
{
    public static IGenerationEngine Create(ServerOptions options, ModelStore store, VersionRecord version, ILogger logger)
    {
        if (options.Engine == EngineKind.TorchSharp)
        {
            var folder = store.ModelFolderOf(version)
                         ?? throw new InvalidOperationException($"the TorchSharp engine needs a model folder, but version {version.Id} is an ONNX export only");
            if (options.Threads > 0) TorchSharp.torch.set_num_threads(options.Threads);
            return new TorchSharpEngine(folder, version.Id);
        }

        var exported = store.OnnxFolder(version);
        var decoder = OnnxDecoder.Load(exported, new OnnxSessionSettings { Provider = options.ExecutionProvider, Threads = options.Threads, AllowSpinning = options.OrtSpinning });
        var manifestPath = Path.Combine(exported, ExportManifest.FileName);
        var manifest = File.Exists(manifestPath) ? System.Text.Json.JsonSerializer.Deserialize<ExportManifest>(File.ReadAllText(manifestPath)) : null;
        return new OnnxBatchingEngine(decoder, new BatchingOptions { MaxBatch = options.MaxBatch, QueueCapacity = options.QueueSize },
            version.Id, manifest?.Parameters ?? 0, logger);
    }
}
