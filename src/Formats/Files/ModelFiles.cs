using System.Security.Cryptography;
using DesMoe.Formats.Architectures;
using DesMoe.Formats.Config;

namespace DesMoe.Formats.Files;

/// <summary>
/// A model folder's files as the server and the tools see them without loading weights: either layout (DesMoe's own
/// <c>config.json</c> + <c>model.safetensors</c>, or a hub checkpoint), its config, whether it has weights, and their hash.
/// </summary>
public static class ModelFiles
{
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The folder's model config, either kind of folder, without loading weights.</summary>
    public static MoeConfig LoadConfig(string folder) =>
        HubModelFolder.IsHubFolder(folder) ? HubModelFolder.ReadConfig(folder) : MoeConfig.Load(Path.Combine(folder, MoeConfig.FileName));

    /// <summary>Whether <paramref name="folder"/> holds weights: model.safetensors, or a hub checkpoint's shard index.</summary>
    public static bool HasWeights(string folder) =>
        File.Exists(Path.Combine(folder, WeightsFileName)) || File.Exists(Path.Combine(folder, ShardIndexFileName));

    /// <summary>
    /// SHA-256 of the weights, as lowercase hex: identifies a checkpoint in exported metadata. A sharded hub
    /// checkpoint hashes its shards in name order.
    /// </summary>
    public static string WeightsSha256(string folder)
    {
        var single = Path.Combine(folder, WeightsFileName);
        var files = File.Exists(single)
            ? [single]
            : Directory.EnumerateFiles(folder, "model-*.safetensors").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new FileNotFoundException($"no {WeightsFileName} or shards in model folder {folder}", single);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var file in files)
        {
            using var stream = File.OpenRead(file);
            int read;
            while ((read = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private const string ShardIndexFileName = "model.safetensors.index.json";
}
