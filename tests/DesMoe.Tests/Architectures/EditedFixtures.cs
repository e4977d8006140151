using System.Text.Json.Nodes;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using TorchSharp;

namespace DesMoe.Tests.Architectures;

/// <summary>
/// A fixture's config with some fields changed and random weights (float32 unless asked) in the hub layout for it
/// (<see cref="RandomCheckpoint"/>), beside the fixture's tokenizer: a stand-in for a transformers-made fixture of a
/// config the shared fixtures do not cover, held to the reference form instead of to transformers.
/// </summary>
public static class EditedFixtures
{
    /// <param name="edits">a JSON object whose fields replace the config's</param>
    public static string RandomCheckpoint(TempDirectory dir, string model, string edits, int seed = 3, torch.ScalarType dtype = torch.ScalarType.Float32)
    {
        var source = dir.File($"{model}-config");
        HubFixtures.CopyFolder(model, source, includeWeights: false);
        var path = Path.Combine(source, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(edits)!.AsObject()) config[key] = value?.DeepClone();
        File.WriteAllText(path, config.ToJsonString());
        var folder = dir.File($"{model}-edited");
        Torch.Checkpoints.RandomCheckpoint.Write(path, folder, dtype, seed: seed);
        foreach (var file in Directory.GetFiles(source).Where(f => !File.Exists(Path.Combine(folder, Path.GetFileName(f)))))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }
}
