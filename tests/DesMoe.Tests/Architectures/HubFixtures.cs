using DesMoe.Tests.Reference;
using DesMoe.Torch.Safetensors;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

/// <summary>The hub fixtures copied next to the test assembly (tests/fixtures/hf-moe) and their reference outputs.</summary>
internal static class HubFixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "hf-moe");

    /// <summary>
    /// Every fixture folder with transformers' outputs (<c>expected.safetensors</c>): one per architecture, named by its
    /// <c>model_type</c>, and the published-config ones <c>generate.py</c> makes (<c>qwen3_moe-yarn</c>, ...), so a
    /// fixture that lands is held to everything the architectures are.
    /// </summary>
    public static readonly string[] Models = Directory.GetDirectories(Root)
        .Where(folder => File.Exists(Path.Combine(folder, "expected.safetensors")))
        .Select(folder => Path.GetFileName(folder)).Order(StringComparer.Ordinal).ToArray();

    public static string Folder(string name) => Path.Combine(Root, name);

    public static HubModel Load(string model, HubLoadOptions? options = null) => HubModelLoader.Load(Folder(model), options);

    /// <summary>A tensor of <c>expected.safetensors</c> (transformers 5.17, fp32, eager attention).</summary>
    public static Tensor Expected(string model, string name) => new SafetensorsFile(Path.Combine(Folder(model), "expected.safetensors")).Read(name);

    /// <summary>max |a - b| over the positions where <paramref name="mask"/> [batch, seq] is 1 (all when null).</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        var diff = (a - b).abs();
        if (mask is not null) diff = diff * mask.to(diff.dtype).unsqueeze(-1);
        return diff.max().item<float>();
    }

    /// <summary>Copies a fixture folder so a test may rewrite its weights or config.</summary>
    public static void CopyFolder(string model, string destination, bool includeWeights = true)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(Folder(model)))
        {
            var name = Path.GetFileName(file);
            if (name == "expected.safetensors" || (!includeWeights && name == SafetensorsCheckpoint.SingleFileName)) continue;
            File.Copy(file, Path.Combine(destination, name));
        }
    }
}
