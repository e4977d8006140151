using System.Text.Json.Nodes;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Formats.Experts;
using DesMoe.Onnx;
using DesMoe.Tests.Reference;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Model;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

/// <summary>
/// Dense layers between MoE ones, as published configs have them: Qwen2-MoE's <c>mlp_only_layers</c>, Qwen3-MoE's
/// <c>decoder_sparse_step</c>, DeepSeek-V2's <c>moe_layer_freq</c>. Each is a fixture's config so edited, with random
/// weights in the hub layout (<see cref="RandomCheckpoint"/>), held to the reference form, saved back and exported,
/// until transformers itself makes fixtures of them on a machine that has it.
/// </summary>
public class DenseLayersAnywhereTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string, string, int[]> Configs => new()
    {
        { "qwen2_moe", """{"mlp_only_layers": [1]}""", [1] },
        { "qwen3_moe", """{"decoder_sparse_step": 2}""", [0, 2] },
        { "deepseek_v2", """{"first_k_dense_replace": 0, "moe_layer_freq": 2}""", [1] },
    };

    private static string EditedCopy(TempDirectory dir, string model, string edits)
    {
        var source = dir.File($"{model}-config");
        HubFixtures.CopyFolder(model, source, includeWeights: false);
        var path = Path.Combine(source, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(edits)!.AsObject()) config[key] = value?.DeepClone();
        File.WriteAllText(path, config.ToJsonString());
        var folder = dir.File($"{model}-dense");
        RandomCheckpoint.Write(path, folder, ScalarType.Float32, seed: 3);
        foreach (var file in Directory.GetFiles(source).Where(f => !File.Exists(Path.Combine(folder, Path.GetFileName(f)))))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void The_trainable_form_matches_the_reference_and_saves_back_in_the_hub_layout(string model, string edits, int[] dense)
    {
        using var dir = new TempDirectory();
        var folder = EditedCopy(dir, model, edits);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var reference = HubModelLoader.Load(folder);
        using var loaded = ModelFolder.Load(folder);
        Assert.Equal(dense, Enumerable.Range(0, loaded.Config.NumLayers).Where(loaded.Config.IsDense));
        Assert.Equal(loaded.Config.NumLayers - dense.Length, loaded.Model.Layers.Count);
        var ids = HubFixtures.Expected(model, "input_ids");
        var mask = HubFixtures.Expected(model, "padded_attention_mask");
        var positions = HubFixtures.Expected(model, "padded_position_ids");

        var expected = reference.Module.Forward(ids);
        double plain = HubFixtures.MaxAbsDiff(loaded.Model.Forward(ids).Logits, expected);
        double padded = HubFixtures.MaxAbsDiff(loaded.Model.Forward(ids, mask, positions).Logits, reference.Module.Forward(ids, mask, positions), mask);

        var saved = dir.File($"{model}-saved");
        ModelFolder.Save(saved, loaded);
        using var reloaded = HubModelLoader.Load(saved);
        double savedBack = HubFixtures.MaxAbsDiff(reloaded.Module.Forward(ids), expected);
        output.WriteLine($"{model} dense [{string.Join(", ", dense)}]: max |logit diff| plain {plain:E2}, left-padded {padded:E2}, saved back {savedBack:E2}");
        Assert.InRange(plain, 0, Tolerance);
        Assert.InRange(padded, 0, Tolerance);
        Assert.Equal(0, savedBack);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void The_export_matches_torchsharp_with_a_domain_in_prefill_and_decode(string model, string edits, int[] dense)
    {
        using var dir = new TempDirectory();
        var folder = EditedCopy(dir, model, edits);
        using (var loaded = ModelFolder.Load(folder))
        {
            var assignment = new ExpertAssignment(["math"], loaded.Config.NumRoutedExperts,
                Enumerable.Range(0, loaded.Config.NumMoeLayers).Select(_ => (IReadOnlyList<int[]>)[[0, 1, 2]]).ToList());
            File.WriteAllText(Path.Combine(folder, ExpertAssignment.FileName), assignment.ToJson());
        }
        var kernel = model == "qwen3_moe" ? ExpertKernel.ContribMoe : ExpertKernel.StandardOps; // both kernels across the three

        var result = ModelExporter.Export(folder, dir.File("onnx"), new ExportOptions { Experts = kernel });

        using var model2 = ModelFolder.Load(folder);
        var routes = ExpertAssignment.LoadFrom(folder, model2.Config)!;
        using var routing = new DomainRouting(routes.RoutingTable(model2.Config.TopK, NoDomainRouting.AllExperts), model2.Config.TopK);
        using var decoder = OnnxDecoder.Load(result.ModelPath);
        var random = new Random(5);
        var prompts = Enumerable.Range(0, 3)
            .Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, random.Next(3, 20)).Select(_ => random.Next(3, model2.Config.VocabSize)).ToList()).ToList();
        var parity = ExportCheck.Run(model2.Model, routing, decoder, prompts, decodeSteps: 6);
        foreach (var p in parity) output.WriteLine($"{model} dense [{string.Join(", ", dense)}] {kernel} domain {p.Domain}: max |logit error| {p.MaxAbsError:E2}");
        Assert.Equal(2, parity.Count);
        Assert.All(parity, p => Assert.InRange(p.MaxAbsError, 0, Tolerance));
    }
}
