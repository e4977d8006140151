using System.Text.Json;
using System.Text.Json.Nodes;
using DesMoe.Formats.Hub;
using DesMoe.Torch.Safetensors;
using DesMoe.Formats.Tokenization;
using DesMoe.Formats.Files;
using DesMoe.Formats.Config;
using DesMoe.Torch.Model;
using static TorchSharp.torch;
using DesMoe.Formats.Architectures;

namespace DesMoe.Torch.Checkpoints;

/// <summary>
/// Opens a hub-layout folder as the trainable model (<see cref="MoeTransformer"/> in the architecture's
/// <see cref="DesMoeForm"/>) and saves one back in the same layout: the checkpoint's tensor names and dtypes, its
/// config and tokenizer files unchanged, so transformers and vLLM load the result as they loaded the original.
/// DES-MoE's additions go in side files: <see cref="HubModelFolder.SideConfigFileName"/>, <see cref="HubModelFolder.RouterWeightsFileName"/>
/// (the adaptive router's residual) and <see cref="HubModelFolder.ExpertCopiesFileName"/> (domains' expert copies), plus whatever the caller adds (expert-domain masks, specificity matrix).
/// </summary>
public static class HubTrainableFolder
{
    public static LoadedModel Load(string folder)
    {
        var opened = HubModelFolder.Open(folder);
        var hub = opened.Folder;
        var tokenizerPath = hub.TokenizerPath ?? throw new HubModelException($"{folder}: no {HubModelFolder.TokenizerFileName}; adaptation, export and serving need the model's tokenizer");
        var generation = hub.ReadGenerationConfig();
        var tokenizer = HubTextTokenizer.ForGeneration(HubTokenizer.Load(tokenizerPath), generation.EosTokenIds, generation.BosTokenId,
            generation.PadTokenId, folder);
        if (tokenizer.VocabSize > opened.Config.VocabSize)
            throw new HubModelException($"{folder}: {HubModelFolder.TokenizerFileName} has {tokenizer.VocabSize} ids but config.json's vocab_size is {opened.Config.VocabSize}");

        // Every weight comes from the checkpoint, held in its dtype: a bf16 checkpoint loads into as much memory as the file.
        var checkpoint = hub.OpenWeights();
        var model = new MoeTransformer(opened.Config, initializeWeights: false, HeldType(checkpoint));
        try
        {
            var (storedTypes, shards) = LoadWeights(model, hub, checkpoint, opened.Form.Names);
            model.eval();
            var origin = new HubOrigin(opened.Form.Names, storedTypes, PassThroughFiles(folder), shards);
            return new LoadedModel(model, opened.Config, tokenizer, Path.GetFullPath(folder)) { Hub = origin };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A model to train from scratch in a hub layout (pre-training): its trainable config, tokenizer and the origin
    /// <see cref="Save"/> writes it back with, from the hub files alone (config.json, generation_config.json,
    /// tokenizer.json; no weights). Tensors are stored as float32.
    /// </summary>
    public static (MoeConfig Config, HubTextTokenizer Tokenizer, HubOrigin Origin) Blank(IReadOnlyDictionary<string, byte[]> files, string source)
    {
        foreach (var required in new[] { HubFolder.ConfigFileName, GenerationConfig.FileName, HubModelFolder.TokenizerFileName })
            if (!files.ContainsKey(required)) throw new HubModelException($"{source}: no {required} for the new model");
        var staging = Path.Combine(Path.GetTempPath(), "desmoe-blank-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        try
        {
            // The architecture reads config.json through the same folder reader a saved model is opened with.
            foreach (var (name, content) in files) File.WriteAllBytes(Path.Combine(staging, name), content);
            var hub = HubFolder.Open(staging);
            var form = hub.Architecture.ToDesMoe(hub.ReadModelConfig());
            var generation = hub.ReadGenerationConfig();
            var tokenizer = HubTextTokenizer.ForGeneration(HubTokenizer.Load(hub.TokenizerPath!), generation.EosTokenIds, generation.BosTokenId,
                generation.PadTokenId, source);
            return (form.Config.Validate(), tokenizer, new HubOrigin(form.Names, new Dictionary<string, ScalarType>(), files));
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="folder"/> in <paramref name="origin"/>'s layout, staged and renamed into place.</summary>
    public static void Save(string folder, MoeTransformer model, HubOrigin origin, IReadOnlyDictionary<string, string>? extraFiles = null)
    {
        var hubTensors = new List<(string Name, Tensor Tensor)>();
        var routerTensors = new List<(string Name, Tensor Tensor)>();
        var copyTensors = new List<(string Name, Tensor Tensor)>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (IsExpertCopy(name, model.Config)) copyTensors.Add((name, parameter));
            else if (origin.Names.ToHub(name) is { } hubName) hubTensors.Add((hubName, parameter));
            else routerTensors.Add((name, parameter));
        }
        AtomicDirectory.Write(folder, staging =>
        {
            foreach (var (name, content) in origin.Files) File.WriteAllBytes(Path.Combine(staging, name), content);
            WriteWeights(staging, hubTensors, origin);
            var side = new JsonObject();
            if (model.Config.AdaptiveRouterWidth > 0)
            {
                SafetensorsWriter.Write(Path.Combine(staging, HubModelFolder.RouterWeightsFileName), routerTensors);
                side["adaptive_router_width"] = model.Config.AdaptiveRouterWidth;
            }
            if (model.Config.DomainExpertCopies > 0)
            {
                SafetensorsWriter.Write(Path.Combine(staging, HubModelFolder.ExpertCopiesFileName), copyTensors);
                side["domain_expert_copies"] = model.Config.DomainExpertCopies;
            }
            if (side.Count > 0)
                File.WriteAllText(Path.Combine(staging, HubModelFolder.SideConfigFileName), side.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            foreach (var (name, content) in extraFiles ?? new Dictionary<string, string>())
                File.WriteAllText(Path.Combine(staging, name), content);
        });
    }

    /// <summary>Whether <paramref name="name"/> is a domain's expert copy (a slot after the routed experts): no hub name describes it.</summary>
    private static bool IsExpertCopy(string name, MoeConfig config) =>
        config.DomainExpertCopies > 0 && System.Text.RegularExpressions.Regex.Match(name, $@"^{TensorNames.Layers}\.\d+\.{TensorNames.Mlp}\.{TensorNames.Experts}\.(\d+)\.") is { Success: true } m
        && int.Parse(m.Groups[1].Value) >= config.NumRoutedExperts;

    /// <summary>One model.safetensors, or the original shards (same file names, same tensors in each) and their index.</summary>
    private static void WriteWeights(string staging, List<(string Name, Tensor Tensor)> tensors, HubOrigin origin)
    {
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        ScalarType Stored(string name) => origin.StoredTypes.GetValueOrDefault(name, float32);
        if (origin.Shards is null)
        {
            SafetensorsWriter.Write(Path.Combine(staging, SafetensorsCheckpoint.SingleFileName), tensors, metadata, Stored);
            return;
        }
        foreach (var shard in tensors.GroupBy(t => origin.Shards[t.Name]).OrderBy(g => g.Key, StringComparer.Ordinal))
            SafetensorsWriter.Write(Path.Combine(staging, shard.Key), shard, metadata, Stored);
        long totalSize = tensors.Sum(t => t.Tensor.NumberOfElements * SafetensorsDType.ElementSize(SafetensorsDType.FromScalarType(Stored(t.Name)), t.Name));
        var weightMap = new JsonObject();
        foreach (var (name, _) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal)) weightMap[name] = origin.Shards[name];
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = totalSize }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(staging, SafetensorsCheckpoint.IndexFileName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// The dtype the model holds its large weights in: the 16-bit dtype most of the checkpoint's bytes are stored in
    /// (bf16 or fp16), float32 otherwise. Training widens what it trains (<see cref="MoeTransformer.HoldInFloat32"/>).
    /// </summary>
    private static ScalarType HeldType(SafetensorsCheckpoint checkpoint)
    {
        var largest = checkpoint.Tensors.Where(t => SafetensorsDType.IsFloatingPoint(t.DType))
            .GroupBy(t => t.DType).MaxBy(g => g.Sum(t => t.End - t.Begin))?.Key;
        return largest is "BF16" or "F16" ? SafetensorsDType.ToScalarType(largest, "the checkpoint's weights") : float32;
    }

    /// <summary>
    /// Copies every checkpoint tensor into its parameter, one at a time; names and shapes are all checked first so a
    /// mismatch fails before anything is copied. Returns each hub tensor's stored dtype, for saving back.
    /// </summary>
    private static (Dictionary<string, ScalarType> StoredTypes, Dictionary<string, string>? Shards) LoadWeights(MoeTransformer model, HubFolder hub, SafetensorsCheckpoint checkpoint,
        HubParameterNames names)
    {
        bool sharded = File.Exists(Path.Combine(hub.Path, SafetensorsCheckpoint.IndexFileName));
        var routerPath = Path.Combine(hub.Path, HubModelFolder.RouterWeightsFileName);
        var router = model.Config.AdaptiveRouterWidth > 0
            ? File.Exists(routerPath) ? new SafetensorsFile(routerPath) : throw new HubModelException($"{hub.Path}: {HubModelFolder.SideConfigFileName} declares an adaptive router but {HubModelFolder.RouterWeightsFileName} is missing")
            : null;

        var copiesPath = Path.Combine(hub.Path, HubModelFolder.ExpertCopiesFileName);
        var copies = model.Config.DomainExpertCopies > 0
            ? File.Exists(copiesPath) ? new SafetensorsFile(copiesPath) : throw new HubModelException($"{hub.Path}: {HubModelFolder.SideConfigFileName} declares domain expert copies but {HubModelFolder.ExpertCopiesFileName} is missing")
            : null;

        // A weight held in 16 bits whose tensor is stored in another dtype (float32 beside bf16, fp16 beside bf16) is
        // held in float32 instead, so that nothing is rounded at load.
        model.HoldInFloat32(name => names.ToHub(name) is { } hubName && checkpoint.Contains(hubName)
            && SafetensorsDType.ToScalarType(checkpoint.Info(hubName).DType, hubName) != model.WeightType);
        var plan = new List<(Tensor Parameter, string Name, SafetensorsFile File)>();
        var problems = new List<string>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, parameter) in model.named_parameters())
        {
            bool copy = IsExpertCopy(name, model.Config);
            var hubName = copy ? null : names.ToHub(name);
            SafetensorsFile? file = copy ? copies : hubName is null ? router : checkpoint.Contains(hubName) ? checkpoint.FileOf(hubName) : null;
            var stored = hubName ?? name;
            expected.Add(stored);
            if (file is null || !file.Tensors.TryGetValue(stored, out var info))
            {
                problems.Add($"tensor '{stored}' is missing (expected shape {ShapeFormat.Of(parameter.shape)})");
                continue;
            }
            if (!info.Shape.SequenceEqual(parameter.shape))
                problems.Add($"tensor '{stored}' has shape {info.ShapeText} but config.json implies {ShapeFormat.Of(parameter.shape)}");
            else if (!SafetensorsDType.IsFloatingPoint(info.DType))
                problems.Add($"tensor '{stored}' is stored as {info.DType}; weights must be F32, F16, BF16 or F64");
            else plan.Add((parameter, stored, file));
        }
        // A tied checkpoint may still carry lm_head.weight (a copy of the embedding); the embedding is what ties.
        bool Ignored(string n) => TensorNames.IsDerivedBuffer(n) || (model.Config.TieWordEmbeddings && n == $"{TensorNames.LmHead}.weight");
        problems.AddRange(checkpoint.Tensors.Select(t => t.Name)
            .Where(n => !expected.Contains(n) && !Ignored(n))
            .Order(StringComparer.Ordinal).Select(n => $"unexpected tensor '{n}'"));
        if (problems.Count > 0)
            throw new HubModelException($"{hub.Path}: checkpoint does not match config.json: {string.Join("; ", problems.Take(5))}{(problems.Count > 5 ? $" (and {problems.Count - 5} more)" : "")}");

        var storedTypes = new Dictionary<string, ScalarType>(StringComparer.Ordinal);
        var shards = sharded ? new Dictionary<string, string>(StringComparer.Ordinal) : null;
        foreach (var (parameter, name, file) in plan)
        {
            file.CopyInto(name, parameter);
            if (file == router || file == copies) continue;
            storedTypes[name] = SafetensorsDType.ToScalarType(file.Info(name).DType, name);
            if (shards is not null) shards[name] = Path.GetFileName(file.Path);
        }
        return (storedTypes, shards);
    }

    /// <summary>The folder's small hub files, kept so a saved model carries them unchanged; weights and DES-MoE side files are rewritten on save.</summary>
    private static Dictionary<string, byte[]> PassThroughFiles(string folder)
    {
        static bool Kept(string name) =>
            name is HubFolder.ConfigFileName or GenerationConfig.FileName or "special_tokens_map.json" or "vocab.json" or "merges.txt"
                or "added_tokens.json" or "README.md"
            || name.StartsWith("tokenizer", StringComparison.Ordinal)
            || name.StartsWith("chat_template", StringComparison.Ordinal)
            || name.StartsWith("LICENSE", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".py", StringComparison.Ordinal); // remote code of trust_remote_code checkpoints
        return Directory.EnumerateFiles(folder).Select(Path.GetFileName).OfType<string>().Where(Kept)
            .ToDictionary(name => name, name => File.ReadAllBytes(Path.Combine(folder, name)), StringComparer.Ordinal);
    }
}
