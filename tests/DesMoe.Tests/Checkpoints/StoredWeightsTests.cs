using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Architectures;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Model;
using DesMoe.Torch.Safetensors;
using DesMoe.Trainer.Adaptation;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Checkpoints;

/// <summary>
/// A bf16 checkpoint is held in bf16 (<see cref="StoredWeights"/>): it loads into about as much memory as its file,
/// computes bit for bit what it computes with every weight widened to float32, trains what trains in float32 and
/// saves back in bf16, leaving what did not train byte for byte as it was.
/// </summary>
public sealed class StoredWeightsTests
{
    [Theory]
    [InlineData("qwen2_moe")]
    [InlineData("deepseek_v2")]
    public void A_bf16_checkpoint_is_held_in_bf16_and_computes_what_its_weights_widened_to_float32_compute(string architecture)
    {
        using var dir = new TempDirectory();
        var folder = EditedFixtures.RandomCheckpoint(dir, architecture, "{}", dtype: ScalarType.BFloat16);
        using var loaded = ModelFolder.Load(folder);
        var model = loaded.Model;
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);

        Assert.Equal(ScalarType.BFloat16, model.WeightType);
        Assert.Equal(ScalarType.BFloat16, parameters["embed_tokens.weight"].dtype);
        Assert.Equal(ScalarType.BFloat16, parameters.First(p => p.Key.Contains(".mlp.experts.0.gate_proj.")).Value.dtype);
        Assert.Equal(ScalarType.Float32, parameters.First(p => p.Key.Contains(".mlp.router.")).Value.dtype); // routers train: float32
        Assert.Equal(ScalarType.Float32, parameters["norm.weight"].dtype);
        long held = parameters.Values.Sum(p => p.numel() * p.ElementSize);
        long stored = new FileInfo(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName)).Length;
        Assert.True(held <= stored * 1.1, $"{held:N0} bytes held for a {stored:N0}-byte checkpoint");

        var ids = PromptFormat.EncodePrompt(loaded.Tokenizer, "the cat sat on the mat").Select(i => (long)i).ToArray();
        var inBf16 = Logits(model, ids);
        long widened = model.HoldInFloat32(_ => true);
        Assert.True(widened > 0);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.Equal(inBf16, Logits(model, ids)); // widening bf16 is exact, so every product is the same
    }

    [Fact]
    public void Esft_on_a_bf16_checkpoint_trains_its_selected_experts_in_float32_and_saves_back_bf16_leaving_the_rest_byte_for_byte()
    {
        using var dir = new TempDirectory();
        var folder = EditedFixtures.RandomCheckpoint(dir, "qwen2_moe", "{}", dtype: ScalarType.BFloat16);
        using var loaded = ModelFolder.Load(folder);
        var train = DatasetSplit.Create(DomainCatalog.Get("math"), 32, 0, seed: 2).Train;
        var options = new AdaptationOptions { Method = AdaptationMethod.Esft, Steps = 2, BatchSize = 4, LearningRate = 1e-3 };

        var run = new AdaptationTrainer(loaded.Model, loaded.Tokenizer, options).Run(["math"], [train]);

        var selected = run.Assignment!.AssignedPerLayer();
        var held = loaded.Model.named_parameters().Where(p => p.name.Contains(".mlp.experts.")).ToList();
        Assert.Contains(held, p => p.parameter.dtype == ScalarType.Float32);
        foreach (var (name, parameter) in held)
        {
            var (layer, expert) = LayerAndExpert(name);
            Assert.True((parameter.dtype == ScalarType.Float32) == selected[layer].Contains(expert),
                $"{name} is held as {parameter.dtype} but expert {expert} of layer {layer} is {(selected[layer].Contains(expert) ? "" : "not ")}selected");
        }

        var saved = dir.File("saved");
        ModelFolder.Save(saved, loaded);
        var before = new SafetensorsFile(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName));
        var after = new SafetensorsFile(Path.Combine(saved, SafetensorsCheckpoint.SingleFileName));
        Assert.All(after.Tensors.Values, t => Assert.Equal("BF16", t.DType));
        int changed = 0;
        foreach (var name in before.Tensors.Keys)
        {
            using var original = before.Read(name);
            using var written = after.Read(name);
            using var equal = original.equal(written);
            bool same = equal.all().item<bool>();
            if (!same) changed++;
            if (name.Contains(".mlp.experts.") && !selected[LayerAndExpert(name).Layer].Contains(LayerAndExpert(name).Expert))
                Assert.True(same, $"{name} did not train but changed on the way through");
        }
        Assert.True(changed > 0, "nothing trained");
    }

    [Fact]
    public void A_domain_added_to_a_bf16_checkpoint_trains_float32_copies_and_leaves_the_no_domain_path_bit_identical()
    {
        using var dir = new TempDirectory();
        using var loaded = ModelFolder.Load(EditedFixtures.RandomCheckpoint(dir, "qwen2_moe", "{}", dtype: ScalarType.BFloat16));
        var ids = PromptFormat.EncodePrompt(loaded.Tokenizer, "the cat sat on the mat").Select(i => (long)i).ToArray();
        var before = Logits(loaded.Model, ids);
        var train = DatasetSplit.Create(DomainCatalog.Get("intent"), 32, 0, seed: 4).Train;
        var empty = Formats.Experts.ExpertAssignment.Empty(loaded.Config.NumMoeLayers, loaded.Config.NumRoutedExperts);

        var run = new DomainAddition(loaded.Model, loaded.Tokenizer, new DomainAdditionOptions { Steps = 2, BatchSize = 4, ProfileExamples = 16 })
            .Run(empty, null, "intent", train);

        var copies = loaded.Model.named_parameters().Where(p => p.name.Contains(".mlp.experts.") && LayerAndExpert(p.name).Expert >= loaded.Config.NumRoutedExperts).ToList();
        Assert.NotEmpty(copies);
        Assert.All(copies, p => Assert.Equal(ScalarType.Float32, p.parameter.dtype));
        Assert.Equal(ScalarType.BFloat16, loaded.Model.named_parameters().First(p => p.name.EndsWith("mlp.experts.0.up_proj.weight")).parameter.dtype);
        Assert.True(run.TrainableParameters == copies.Sum(p => p.parameter.numel()), $"{run.TrainableParameters:N0} trained, {copies.Sum(p => p.parameter.numel()):N0} in the copies");
        Assert.Equal(before, Logits(loaded.Model, ids)); // no domain: the router never reaches the copies
    }

    [Theory]
    [InlineData("qwen2_moe")]
    [InlineData("deepseek_v2")]
    public void A_bf16_checkpoint_exports_in_float32_and_float16_each_matching_the_model_it_stores(string architecture)
    {
        using var dir = new TempDirectory();
        var folder = EditedFixtures.RandomCheckpoint(dir, architecture, "{}", dtype: ScalarType.BFloat16);

        // fp32 stores the bf16 weights exactly; fp16 rounds them, and the export rounds its reference the same way.
        var fp32 = ModelExporter.Export(folder, dir.File("fp32"), new ExportOptions { ExternalData = true, WeightBlockBytes = 4096 });
        var fp16 = ModelExporter.Export(folder, dir.File("fp16"), new ExportOptions { ExternalData = true, WeightBlockBytes = 4096, Precision = WeightPrecision.Float16 });

        Assert.All(fp32.Manifest.ParityMaxAbsError.Values, e => Assert.InRange(e, 0, ModelExporter.Tolerance));
        Assert.All(fp16.Manifest.ParityMaxAbsError.Values, e => Assert.InRange(e, 0, ModelExporter.Tolerance));
        Assert.InRange(fp16.Manifest.ModelBytes, fp32.Manifest.ModelBytes * 0.45, fp32.Manifest.ModelBytes * 0.55);
    }

    [Fact]
    public void A_large_product_without_gradient_runs_in_slices_of_the_widened_weight_and_gives_the_whole_products_logits()
    {
        var generator = new TorchSharp.torch.Generator(7);
        using var scope = NewDisposeScope();
        var x = randn([3, 5, 64], generator: generator);
        var weight = randn([1000, 64], generator: generator).to(bfloat16);
        var bias = randn([1000], generator: generator);
        var whole = nn.functional.linear(x, weight.to(float32), bias);

        Tensor sliced;
        using (no_grad()) sliced = StoredWeights.Linear(x, weight, bias, sliceBytes: 64 * 4 * 300); // 4 slices: 300, 300, 300, 100 rows
        Assert.Equal(whole.shape, sliced.shape);
        Assert.True(whole.allclose(sliced, rtol: 1e-6, atol: 1e-5), $"max gap {(whole - sliced).abs().max().item<float>()}");

        var learning = x.clone().requires_grad_(true);
        var recorded = StoredWeights.Linear(learning, weight, bias, sliceBytes: 64 * 4 * 300); // a gradient to record: whole
        recorded.sum().backward();
        Assert.True(whole.allclose(recorded, rtol: 0, atol: 1e-5));
        Assert.Equal(x.shape, learning.grad!.shape);
    }

    [Fact]
    public void A_frozen_bf16_weight_gives_its_input_the_gradient_the_widened_product_gives()
    {
        var generator = new TorchSharp.torch.Generator(11);
        using var scope = NewDisposeScope();
        var weight = randn([300, 64], generator: generator).to(bfloat16); // frozen: no gradient of its own
        var bias = randn([300], generator: generator);
        var upstream = randn([2, 5, 300], generator: generator);
        var x = randn([2, 5, 64], generator: generator).requires_grad_(true);
        var reference = x.detach().clone().requires_grad_(true);

        var y = StoredWeights.Linear(x, weight, bias); // through FrozenLinear: backward widens the weight again
        (y * upstream).sum().backward();
        var expected = nn.functional.linear(reference, weight.to(float32), bias);
        (expected * upstream).sum().backward();

        Assert.True(expected.allclose(y, rtol: 0, atol: 1e-5));
        Assert.True(reference.grad!.allclose(x.grad!, rtol: 0, atol: 1e-5), $"max gap {(reference.grad! - x.grad!).abs().max().item<float>()}");
        Assert.False(weight.requires_grad);
        // Backward's product in slices of the weight's rows (4 here) sums to the whole one.
        var sliced = StoredWeights.TransposedProduct(upstream, weight, sliceBytes: 64 * 4 * 80);
        var whole = matmul(upstream, weight.to(float32));
        Assert.True(whole.allclose(sliced, rtol: 1e-6, atol: 1e-5), $"max gap {(whole - sliced).abs().max().item<float>()} of {whole.abs().max().item<float>()}");
    }

    /// <summary>The MoE layer and expert of a routed expert's tensor, under the model's names or the checkpoint's (<c>model.layers...</c>).</summary>
    private static (int Layer, int Expert) LayerAndExpert(string name)
    {
        var m = System.Text.RegularExpressions.Regex.Match(name, @"layers\.(\d+)\.mlp\.experts\.(\d+)\.");
        return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
    }

    private static float[] Logits(MoeTransformer model, long[] ids)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return model.Forward(tensor(ids, [1, ids.Length])).Logits.flatten().data<float>().ToArray();
    }
}
