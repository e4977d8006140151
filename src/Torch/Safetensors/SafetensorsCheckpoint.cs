using System.Text.Json;
using DesMoe.Formats.Hub;

namespace DesMoe.Torch.Safetensors;

/// <summary>
/// A model's weights as the hub stores them: one <c>model.safetensors</c>, or shards
/// <c>model-0000N-of-0000M.safetensors</c> listed by <c>model.safetensors.index.json</c>'s <c>weight_map</c>.
/// Only headers are read up front; tensors are read on demand.
/// </summary>
public sealed class SafetensorsCheckpoint
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly Dictionary<string, SafetensorsFile> _fileByTensor;

    private SafetensorsCheckpoint(IReadOnlyList<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileByTensor)
    {
        Files = files;
        _fileByTensor = fileByTensor;
    }

    public IReadOnlyList<SafetensorsFile> Files { get; }

    public IEnumerable<SafetensorsTensorInfo> Tensors => _fileByTensor.Select(entry => entry.Value.Info(entry.Key));

    public bool Contains(string name) => _fileByTensor.ContainsKey(name);

    public SafetensorsTensorInfo Info(string name) => FileOf(name).Info(name);

    public SafetensorsFile FileOf(string name) =>
        _fileByTensor.TryGetValue(name, out var file) ? file : throw new HubModelException($"checkpoint has no tensor named '{name}'");

    /// <summary>Opens the sharded layout when an index exists, the single file otherwise.</summary>
    public static SafetensorsCheckpoint Open(string folder)
    {
        var index = Path.Combine(folder, IndexFileName);
        if (File.Exists(index)) return OpenSharded(folder, index);
        var single = Path.Combine(folder, SingleFileName);
        if (File.Exists(single))
        {
            var file = new SafetensorsFile(single);
            return new SafetensorsCheckpoint([file], file.Tensors.Keys.ToDictionary(name => name, _ => file, StringComparer.Ordinal));
        }
        throw new HubModelException($"{folder}: no weights found (expected {SingleFileName} or {IndexFileName} with its shards)");
    }

    private static SafetensorsCheckpoint OpenSharded(string folder, string indexPath)
    {
        Dictionary<string, string> weightMap;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(indexPath));
            weightMap = document.RootElement.GetProperty("weight_map").EnumerateObject()
                .ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new HubModelException($"{indexPath}: malformed index ({e.Message})", e);
        }
        var files = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        var fileByTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        foreach (var (tensor, shardName) in weightMap)
        {
            if (!files.TryGetValue(shardName, out var shard))
            {
                var shardPath = Path.Combine(folder, shardName);
                if (!File.Exists(shardPath))
                    throw new HubModelException($"{indexPath}: shard '{shardName}' (holding '{tensor}') does not exist");
                files[shardName] = shard = new SafetensorsFile(shardPath);
            }
            if (!shard.Tensors.ContainsKey(tensor))
                throw new HubModelException($"{indexPath}: maps '{tensor}' to '{shardName}', which does not contain it");
            fileByTensor[tensor] = shard;
        }
        foreach (var (shardName, shard) in files)
        {
            var unlisted = shard.Tensors.Keys.FirstOrDefault(name => !weightMap.ContainsKey(name));
            if (unlisted is not null)
                throw new HubModelException($"{indexPath}: shard '{shardName}' holds '{unlisted}', which the weight_map does not list");
        }
        return new SafetensorsCheckpoint(files.Values.ToList(), fileByTensor);
    }
}
