using DesMoe.Formats.Architectures;
using DesMoe.Torch.Safetensors;
using TorchSharp;
using DesMoe.Formats.Tokenization;
using DesMoe.Formats.Hub;

namespace DesMoe.Tests.Reference;

/// <summary>Loads a hub-layout folder: config → architecture (by model_type) → module → weights, plus generation config and tokenizer.</summary>
public static class HubModelLoader
{
    public static HubModel Load(string folder, HubLoadOptions? options = null)
    {
        options ??= HubLoadOptions.Default;
        options.Validate();
        var hub = HubFolder.Open(folder);
        var architecture = hub.Architecture;
        var config = architecture.ReadConfig(hub.Config);
        var checkpoint = hub.OpenWeights();
        var generation = hub.ReadGenerationConfig();
        var tokenizer = hub.TokenizerPath is { } tokenizerPath ? HubTokenizer.Load(tokenizerPath) : null;

        var module = ReferenceModels.Build(config);
        try
        {
            if (options.Device is not null) module.to(options.Device);
            WeightLoader.Load(module, checkpoint, config.TieWordEmbeddings);
            module.eval();
            return new HubModel(folder, config, module, generation, tokenizer);
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }
}
