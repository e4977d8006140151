using DesMoe.Onnx;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;

namespace DesMoe.Server.Engine;

/// <summary>Builds the configured engine over one model version.</summary>
public static class EngineFactory
{
    /// <summary>
    /// The domain classifier of a version with domains, from the held-out sets stored with it (the prompts the
    /// regression gate used) and the general reference (<see cref="DomainInference.GeneralReference"/>: the model folder's
    /// general probes when it has them); null when the version
    /// has no domains, none of its domains has a stored set, or the export does not report its routing.
    /// </summary>
    private static DomainInference.DomainClassifier? DomainClassifierFor(global::DesMoe.Onnx.OnnxDecoder decoder, ModelStore store, VersionRecord version, ServerOptions options, ILogger logger)
    {
        if (decoder.Info.Domains.Count == 0) return null;
        var sets = store.EvalFiles(version).Where(kv => decoder.Info.Domains.Contains(kv.Key))
            .ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)global::DesMoe.Formats.Data.Jsonl.Read(kv.Value).Take(options.AutoDomainReferencePrompts).Select(e => e.Prompt).ToList());
        if (sets.Count == 0) return null;
        var modelFolder = store.ModelFolderOf(version);
        var probes = modelFolder is null ? null : global::DesMoe.Formats.Probes.ProbeFolder.Read(modelFolder);
        var general = DomainInference.GeneralReference.Prompts(decoder.Info.Domains, options.AutoDomainReferencePrompts, probes);
        try
        {
            var classifier = DomainInference.DomainClassifier.Build(decoder, sets, general, options.AutoDomainMinConfidence);
            logger.LogInformation("Domain inference for {Version}: reference prompts {References}; general text from {General}", version.Id,
                string.Join(", ", classifier.References.Select(kv => $"{kv.Key} {kv.Value}")),
                probes?.Describe() ?? "the built-in general set (no model folder probes)");
            return classifier;
        }
        catch (InvalidOperationException e)
        {
            logger.LogWarning("Domain inference is off for {Version}: {Reason}", version.Id, e.Message);
            return null;
        }
    }

    public static IGenerationEngine Create(ServerOptions options, ModelStore store, VersionRecord version, ILogger logger)
    {
        var exported = store.OnnxFolder(version);
        // The export's config.json sizes the thread pool; a folder without one leaves it to ONNX Runtime (one per core).
        var configPath = Path.Combine(exported, global::DesMoe.Formats.Config.MoeConfig.FileName);
        var threads = File.Exists(configPath) ? options.InferenceThreads(global::DesMoe.Formats.Config.MoeConfig.Load(configPath)) : options.Threads;
        var decoder = OnnxDecoder.Load(exported, new OnnxSessionSettings { Provider = options.ExecutionProvider, Threads = threads, AllowSpinning = options.OrtSpinning });
        var manifestPath = Path.Combine(exported, ExportManifest.FileName);
        var manifest = File.Exists(manifestPath) ? System.Text.Json.JsonSerializer.Deserialize<ExportManifest>(File.ReadAllText(manifestPath)) : null;
        DomainInference.DomainClassifier? classifier;
        try
        {
            classifier = DomainClassifierFor(decoder, store, version, options, logger);
        }
        catch
        {
            decoder.Dispose();
            throw;
        }
        int window;
        try
        {
            window = ServingContext.Window(decoder.Info.Config, options.MaxContextTokens);
        }
        catch
        {
            decoder.Dispose();
            throw;
        }
        return new OnnxBatchingEngine(decoder, new BatchingOptions { MaxBatch = options.MaxBatch, QueueCapacity = options.QueueSize, ContextWindow = window },
            version.Id, manifest?.Parameters ?? 0, logger, classifier);
    }
}
