using System.Text.Json.Nodes;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Formats.Files;
using DesMoe.Tests.Export;
using DesMoe.Tests.Reference;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

/// <summary>
/// Config fields of published models the shared fixtures do not cover: dense layers between MoE ones (Qwen2-MoE's
/// <c>mlp_only_layers</c>, Qwen3-MoE's <c>decoder_sparse_step</c>, DeepSeek-V2's <c>moe_layer_freq</c>), attention
/// biases on Qwen3-MoE and OLMoE, OLMoE's <c>clip_qkv</c>. Each is a fixture's config so edited, with random weights
/// in the hub layout (<see cref="EditedFixtures"/>), held to the reference form, saved back and exported, until
/// transformers itself makes fixtures of them on a machine that has it.
/// </summary>
public class PublishedConfigFieldsTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string, string, int[]> Configs => new()
    {
        { "qwen2_moe", """{"mlp_only_layers": [1]}""", [1] },
        { "qwen3_moe", """{"decoder_sparse_step": 2}""", [0, 2] },
        { "deepseek_v2", """{"first_k_dense_replace": 0, "moe_layer_freq": 2}""", [1] },
        { "qwen3_moe", """{"attention_bias": true}""", [] },
        { "olmoe", """{"attention_bias": true, "clip_qkv": 0.05}""", [] },
        { "qwen3_moe", """{"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}}""", [] },
        { "qwen2_moe", """{"rope_scaling": {"type": "linear", "factor": 2.0}}""", [] },
        { "mixtral", """{"tie_word_embeddings": true}""", [] },
        { "deepseek_v2", """{"tie_word_embeddings": true}""", [0] }, // the fixture's dense prefix
        { "deepseek_v2", """{"attention_bias": true}""", [0] },
        { "deepseek_v2", """{"attention_bias": true, "q_lora_rank": 16}""", [0] },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void The_trainable_form_matches_the_reference_and_saves_back_in_the_hub_layout(string model, string edits, int[] dense)
    {
        using var dir = new TempDirectory();
        var folder = EditedFixtures.RandomCheckpoint(dir, model, edits);
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
        output.WriteLine($"{model} {edits}: max |logit diff| plain {plain:E2}, left-padded {padded:E2}, saved back {savedBack:E2}");
        Assert.InRange(plain, 0, Tolerance);
        Assert.InRange(padded, 0, Tolerance);
        Assert.Equal(0, savedBack);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void The_export_matches_torchsharp_with_a_domain_in_prefill_and_decode(string model, string edits, int[] dense)
    {
        using var dir = new TempDirectory();
        var folder = EditedFixtures.RandomCheckpoint(dir, model, edits);
        ExportParity.AssignEveryLayer(folder, ("math", [0, 1, 2]));
        var kernel = model is "qwen3_moe" or "olmoe" ? ExpertKernel.ContribMoe : ExpertKernel.StandardOps; // both kernels across the cases

        var result = ModelExporter.Export(folder, dir.File("onnx"), new ExportOptions { Experts = kernel });

        Assert.Equal(dense.Length, ModelFiles.LoadConfig(folder).NumDenseLayers);
        var parity = ExportParity.OnRandomPrompts(folder, result.ModelPath, seed: 5, maxLength: 20);
        Assert.Equal(2, parity.Count);
        ExportParity.AssertWithin(parity, Tolerance, output, $"{model} {edits} {kernel}");
    }

    [Fact]
    public void Clip_qkv_and_the_attention_biases_change_what_the_model_computes()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = HubFixtures.Expected("olmoe", "input_ids");
        Tensor Logits(string edits)
        {
            using var sub = new TempDirectory();
            using var loaded = ModelFolder.Load(EditedFixtures.RandomCheckpoint(sub, "olmoe", edits));
            return loaded.Model.Forward(ids).Logits.detach().clone();
        }

        var clipped = Logits("""{"attention_bias": true, "clip_qkv": 0.05}""");
        var unclipped = Logits("""{"attention_bias": true}""");
        var plain = Logits("""{}""");

        Assert.True(HubFixtures.MaxAbsDiff(clipped, unclipped) > 1e-4, "clip_qkv 0.05 left the logits unchanged");
        Assert.Equal(plain.shape, unclipped.shape);
    }

    [Fact]
    public void Linear_rope_scaling_divides_every_frequency_by_the_factor_and_dynamic_is_refused_by_name()
    {
        var linear = Formats.Architectures.Common.RotaryFrequencies.For(new Formats.Hub.RopeSettings { Type = "linear", Theta = 10000, Factor = 4 }, 8);
        Assert.Equal([1.0 / 4, 0.1 / 4, 0.01 / 4, 0.001 / 4], linear.InverseFrequencies.Select(f => Math.Round(f, 12)));
        Assert.Equal(1.0, linear.AttentionFactor);

        using var dir = new TempDirectory();
        var error = Assert.ThrowsAny<Exception>(() => EditedFixtures.RandomCheckpoint(dir, "qwen2_moe", """{"rope_scaling": {"type": "dynamic", "factor": 2.0}}"""));
        Assert.Contains("rope_scaling.type 'dynamic' is not supported (supported: default, yarn, linear)", error.Message);
    }
}
