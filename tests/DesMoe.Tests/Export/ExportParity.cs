using DesMoe.Exporter.Export;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Files;
using DesMoe.Onnx;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Model;
using Xunit;
using Xunit.Abstractions;

namespace DesMoe.Tests.Export;

/// <summary>The export tests' steps: domains assigned to a model folder, and an export held to TorchSharp on random prompts.</summary>
public static class ExportParity
{
    /// <summary>Writes an expert assignment giving each domain the same experts in every MoE layer.</summary>
    public static void AssignEveryLayer(string folder, params (string Domain, int[] Experts)[] domains)
    {
        var config = ModelFiles.LoadConfig(folder);
        var assignment = new ExpertAssignment(domains.Select(d => d.Domain).ToList(), config.NumRoutedExperts,
            Enumerable.Range(0, config.NumMoeLayers).Select(_ => (IReadOnlyList<int[]>)domains.Select(d => d.Experts).ToList()).ToList());
        File.WriteAllText(Path.Combine(folder, ExpertAssignment.FileName), assignment.ToJson());
    }

    /// <summary>
    /// The exported graph against the folder's TorchSharp model, for no domain and every assigned domain, on three
    /// seeded random prompts of 3 to <paramref name="maxLength"/> - 1 tokens, prefill then <paramref name="decodeSteps"/> steps.
    /// </summary>
    public static IReadOnlyList<DomainParity> OnRandomPrompts(string folder, string onnxModelPath, int seed, int maxLength, int decodeSteps = 6)
    {
        using var loaded = ModelFolder.Load(folder);
        var assignment = ExpertAssignment.LoadFrom(folder, loaded.Config)!;
        using var routing = new DomainRouting(assignment.RoutingTable(loaded.Config.TopK, NoDomainRouting.AllExperts), loaded.Config.TopK);
        using var decoder = OnnxDecoder.Load(onnxModelPath);
        var random = new Random(seed);
        var prompts = Enumerable.Range(0, 3)
            .Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, random.Next(3, maxLength)).Select(_ => random.Next(3, loaded.Config.VocabSize)).ToList()).ToList();
        return ExportCheck.Run(loaded.Model, routing, decoder, prompts, decodeSteps);
    }

    /// <summary>Writes each path's largest logit gap to the test output, then holds every one within <paramref name="tolerance"/>.</summary>
    public static void AssertWithin(IReadOnlyList<DomainParity> parity, double tolerance, ITestOutputHelper output, string label)
    {
        foreach (var p in parity) output.WriteLine($"{label} domain {p.Domain}: max |logit error| {p.MaxAbsError:E2}");
        Assert.All(parity, p => Assert.InRange(p.MaxAbsError, 0, tolerance));
    }
}
