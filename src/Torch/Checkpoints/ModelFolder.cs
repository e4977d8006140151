using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using static TorchSharp.torch;
using DesMoe.Formats.Files;

namespace DesMoe.Torch.Checkpoints;

/// <summary>A loaded model folder: the model in eval mode, its config and tokenizer.</summary>
public sealed record LoadedModel(MoeTransformer Model, MoeConfig Config, ITextTokenizer Tokenizer, string Folder) : IDisposable
{
    /// <summary>Set when the folder was a Hugging Face hub checkpoint: what saving it back in that layout needs.</summary>
    public HubOrigin? Hub { get; init; }

    private bool _disposed;

    /// <summary>Frees the model; a second call does nothing (an exporter lets the model go before its ONNX Runtime check).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Model.Dispose();
    }
}

/// <summary>
/// A model folder holds <c>config.json</c>, <c>model.safetensors</c> and <c>tokenizer.json</c>, plus any extra
/// files a stage adds (e.g. the trainer's specificity matrix). Folders are written next to the target and renamed
/// into place, so a failed save leaves the previous folder intact. A Hugging Face hub folder (config.json with a
/// supported <c>model_type</c>) loads through <see cref="HubTrainableFolder"/> and, given its <see cref="HubOrigin"/>,
/// saves back in its own layout.
/// </summary>
public static class ModelFolder
{
    /// <summary>Saves a loaded (and possibly trained) model in the layout it was loaded from.</summary>
    public static void Save(string folder, LoadedModel loaded, IReadOnlyDictionary<string, string>? extraFiles = null) =>
        Save(folder, loaded.Model, loaded.Tokenizer, extraFiles, loaded.Hub);

    /// <param name="hub">the origin of a model loaded from a hub folder (<see cref="LoadedModel.Hub"/>): saves in that layout</param>
    public static void Save(string folder, MoeTransformer model, ITextTokenizer tokenizer,
        IReadOnlyDictionary<string, string>? extraFiles = null, HubOrigin? hub = null)
    {
        if (hub is not null)
        {
            HubTrainableFolder.Save(folder, model, hub, extraFiles);
            return;
        }
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"tokenizer '{tokenizer.Name}' needs {tokenizer.VocabSize} ids but the model's vocab_size is {model.Config.VocabSize}");
        AtomicDirectory.Write(folder, staging =>
        {
            File.WriteAllText(Path.Combine(staging, MoeConfig.FileName), model.Config.ToJson());
            File.WriteAllText(Path.Combine(staging, TokenizerFile.FileName), TokenizerFile.ToJson(tokenizer));
            var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().contiguous());
            TorchSharp.PyBridge.Safetensors.SaveStateDict(Path.Combine(staging, ModelFiles.WeightsFileName), state);
            foreach (var (name, content) in extraFiles ?? new Dictionary<string, string>())
                File.WriteAllText(Path.Combine(staging, name), content);
        });
    }

    public static LoadedModel Load(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"model folder not found: {folder}");
        if (HubModelFolder.IsHubFolder(folder)) return HubTrainableFolder.Load(folder);
        var weights = Path.Combine(folder, ModelFiles.WeightsFileName);
        if (!File.Exists(weights)) throw new FileNotFoundException($"no {ModelFiles.WeightsFileName} in model folder {folder}", weights);
        var config = MoeConfig.Load(Path.Combine(folder, MoeConfig.FileName));
        var tokenizer = TokenizerFile.Load(Path.Combine(folder, TokenizerFile.FileName));
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException($"{folder}: tokenizer '{tokenizer.Name}' needs {tokenizer.VocabSize} ids but config vocab_size is {config.VocabSize}");

        var model = new MoeTransformer(config);
        try
        {
            LoadWeights(model, weights);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return new LoadedModel(model, config, tokenizer, Path.GetFullPath(folder));
    }

    /// <summary>Loads safetensors weights into <paramref name="model"/>, failing with the tensor's name and both shapes on any mismatch.</summary>
    public static void LoadWeights(MoeTransformer model, string safetensorsPath)
    {
        var expected = model.state_dict();
        Dictionary<string, Tensor> stored;
        try
        {
            stored = TorchSharp.PyBridge.Safetensors.LoadStateDict(safetensorsPath);
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidDataException($"{safetensorsPath}: not a readable safetensors file: {e.Message}", e);
        }
        using var disposeStored = new DisposeAll(stored.Values);

        var problems = new List<string>();
        foreach (var (name, tensor) in expected)
        {
            if (!stored.TryGetValue(name, out var found))
                problems.Add($"tensor '{name}' is missing (config expects shape {Shape(tensor)})");
            else if (!found.shape.SequenceEqual(tensor.shape))
                problems.Add($"tensor '{name}' has shape {Shape(found)} in {Path.GetFileName(safetensorsPath)} but the config expects {Shape(tensor)}");
            else if (found.dtype != tensor.dtype)
                problems.Add($"tensor '{name}' has dtype {found.dtype} but the model uses {tensor.dtype}");
        }
        problems.AddRange(stored.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"unexpected tensor '{k}' not described by the config"));
        if (problems.Count > 0)
            throw new InvalidDataException($"{safetensorsPath} does not match config.json: " + string.Join("; ", problems));

        using var noGrad = no_grad();
        foreach (var (name, tensor) in expected) tensor.copy_(stored[name]);
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    private sealed class DisposeAll(IEnumerable<Tensor> tensors) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in tensors) t.Dispose();
        }
    }
}
