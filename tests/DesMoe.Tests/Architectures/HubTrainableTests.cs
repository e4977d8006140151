using System.Text.Json.Nodes;
using DesMoe.Formats.Hub;
using DesMoe.Tests.Reference;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Safetensors;
using DesMoe.Formats.Architectures;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Model;
using DesMoe.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

/// <summary>
/// The hub architectures as the trainable model (<see cref="MoeTransformer"/> through each architecture's
/// <see cref="DesMoeForm"/>), against transformers 5.17's outputs, and saved back in the hub layout.
/// </summary>
public class HubTrainableTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    public static readonly string[] TrainableModels = HubFixtures.Models;

    public static TheoryData<string> Models => new(TrainableModels);

    [Theory]
    [MemberData(nameof(Models))]
    public void Logits_of_the_trainable_form_match_the_reference(string model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var loaded = ModelFolder.Load(HubFixtures.Folder(model));

        var logits = loaded.Model.Forward(HubFixtures.Expected(model, "input_ids")).Logits;

        double diff = HubFixtures.MaxAbsDiff(logits, HubFixtures.Expected(model, "logits"));
        output.WriteLine($"{model}: max |logit diff| = {diff:E2}");
        Assert.InRange(diff, 0, Tolerance);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Left_padded_logits_of_the_trainable_form_match_the_reference(string model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var loaded = ModelFolder.Load(HubFixtures.Folder(model));
        var mask = HubFixtures.Expected(model, "padded_attention_mask");

        var logits = loaded.Model.Forward(HubFixtures.Expected(model, "input_ids"), mask, HubFixtures.Expected(model, "padded_position_ids")).Logits;

        double diff = HubFixtures.MaxAbsDiff(logits, HubFixtures.Expected(model, "padded_logits"), mask);
        output.WriteLine($"{model}: max |padded logit diff| = {diff:E2}");
        Assert.InRange(diff, 0, Tolerance);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Greedy_decoding_with_the_kv_cache_reproduces_the_reference_tokens(string model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var loaded = ModelFolder.Load(HubFixtures.Folder(model));
        var prompt = HubFixtures.Expected(model, "greedy_prompt");
        var expected = HubFixtures.Expected(model, "greedy_output").data<long>().ToArray();

        using var cache = new KvCache(loaded.Config.NumLayers);
        var tokens = prompt.data<long>().ToList();
        var input = prompt;
        for (int step = 0; step < 12; step++)
        {
            var next = loaded.Model.Forward(input, cache: cache).Logits.select(1, -1).argmax(-1);
            tokens.Add(next.item<long>());
            input = next.unsqueeze(0);
        }

        Assert.Equal(expected, tokens);
    }

    [Theory]
    [InlineData("mixtral", "\"mixtral\"", "\"jamba\"", "model_type 'jamba' is not supported (supported: deepseek_v2, mixtral, olmoe, qwen2_moe, qwen3_moe)")]
    [InlineData("qwen3_moe", "\"mlp_only_layers\": []", "\"mlp_only_layers\": [0, 1, 2]", "qwen3_moe: every layer is dense")]
    [InlineData("deepseek_v2", "\"first_k_dense_replace\": 1", "\"first_k_dense_replace\": 3", "deepseek_v2: every layer is dense")]
    public void A_config_the_trainable_form_cannot_express_fails_in_one_line_before_any_weight_is_read(string model, string field, string edited, string expected)
    {
        using var dir = new TempDirectory();
        var folder = dir.File(model);
        HubFixtures.CopyFolder(model, folder, includeWeights: false);
        var config = Path.Combine(folder, HubFolder.ConfigFileName);
        Assert.Contains(field, File.ReadAllText(config));
        File.WriteAllText(config, File.ReadAllText(config).Replace(field, edited));

        var error = Assert.Throws<HubModelException>(() => ModelFolder.Load(folder));

        Assert.StartsWith(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("deepseek_v2")]
    [InlineData("qwen2_moe")]
    [InlineData("mixtral")]
    public void A_trained_model_saves_back_in_the_hub_layout_that_the_reference_loader_reads(string model)
    {
        using var dir = new TempDirectory();
        var saved = dir.File("saved");
        using var scope = NewDisposeScope();
        using var loaded = ModelFolder.Load(HubFixtures.Folder(model));
        using var expertStep = 0.05.ToScalar();
        using var residualScale = 0.1.ToScalar();
        using (no_grad())
        {
            // Stand-in for training: move every expert of layer 0 and give the adaptive router a non-zero residual.
            foreach (var (name, p) in loaded.Model.named_parameters().Where(p => p.name.StartsWith("layers.0.mlp.experts.")))
                p.add_(randn_like(p).mul(expertStep), DesMoe.Torch.Tensors.Scalars.One);
            loaded.Model.EnableAdaptiveRouter(8);
            foreach (var (_, p) in loaded.Model.named_parameters().Where(p => p.name.Contains(".router.adapter.")))
                p.copy_(randn_like(p).mul(residualScale));
        }
        ModelFolder.Save(saved, loaded, new Dictionary<string, string> { ["expert_domain_masks.json"] = "{}" });

        // Same file set and names as the original, plus DES-MoE's side files; config and tokenizer byte for byte.
        var source = HubFixtures.Folder(model);
        foreach (var name in new[] { HubFolder.ConfigFileName, GenerationConfig.FileName, HubFolder.TokenizerFileName })
            Assert.Equal(File.ReadAllBytes(Path.Combine(source, name)), File.ReadAllBytes(Path.Combine(saved, name)));
        Assert.True(File.Exists(Path.Combine(saved, HubModelFolder.RouterWeightsFileName)));
        Assert.True(File.Exists(Path.Combine(saved, "expert_domain_masks.json")));
        var original = new SafetensorsFile(Path.Combine(source, SafetensorsCheckpoint.SingleFileName)).Tensors;
        var written = new SafetensorsFile(Path.Combine(saved, SafetensorsCheckpoint.SingleFileName)).Tensors;
        Assert.Equal(original.Keys.Order(), written.Keys.Order());
        Assert.All(original, entry => Assert.Equal(entry.Value.DType, written[entry.Key].DType));

        // The architecture's own loader (the transformers-faithful one) sees the trained weights: its logits equal
        // the trained model's with the router residual set aside.
        var ids = HubFixtures.Expected(model, "input_ids");
        using var reference = HubModelLoader.Load(saved);
        using var reloaded = ModelFolder.Load(saved);
        using (no_grad())
        {
            Assert.Equal(8, reloaded.Config.AdaptiveRouterWidth);
            foreach (var (name, p) in loaded.Model.named_parameters())
                Assert.True(p.equal(reloaded.Model.named_parameters().Single(q => q.name == name).parameter).all().item<bool>(), $"{name} changed on the round trip");
            foreach (var (_, p) in reloaded.Model.named_parameters().Where(p => p.name.Contains(".router.adapter.fc2."))) p.zero_();
            double diff = HubFixtures.MaxAbsDiff(reloaded.Model.Forward(ids).Logits, reference.Module.Forward(ids));
            output.WriteLine($"{model}: saved model, max |logit diff| vs the reference loader = {diff:E2}");
            Assert.InRange(diff, 0, Tolerance);
            Assert.True(HubFixtures.MaxAbsDiff(reference.Module.Forward(ids), HubFixtures.Expected(model, "logits")) > 1e-3, "the trained weights did not reach the saved checkpoint");
        }
    }

    [Fact]
    public void A_bf16_checkpoint_is_saved_back_as_bf16()
    {
        using var dir = new TempDirectory();
        var bf16 = dir.File("bf16");
        HubFixtures.CopyFolder("qwen3_moe", bf16, includeWeights: false);
        var weights = new SafetensorsFile(Path.Combine(HubFixtures.Folder("qwen3_moe"), SafetensorsCheckpoint.SingleFileName));
        using (var scope = NewDisposeScope())
            SafetensorsWriter.Write(Path.Combine(bf16, SafetensorsCheckpoint.SingleFileName),
                weights.Tensors.Keys.Select(name => (name, weights.Read(name).to(bfloat16))).ToList());
        using var loaded = ModelFolder.Load(bf16);

        ModelFolder.Save(dir.File("saved"), loaded);

        var written = new SafetensorsFile(Path.Combine(dir.File("saved"), SafetensorsCheckpoint.SingleFileName)).Tensors;
        Assert.All(written.Values, info => Assert.Equal("BF16", info.DType));
        Assert.Equal(weights.Tensors.Count, written.Count);
    }

    [Fact]
    public void The_tokenizer_maps_control_roles_from_the_generation_config()
    {
        using var loaded = ModelFolder.Load(HubFixtures.Folder("qwen2_moe"));
        var tokenizer = Assert.IsType<HubTextTokenizer>(loaded.Tokenizer);
        // generation_config.json: bos 1, eos 2, pad 0; hub tokenizers have no separator, so bos serves.
        Assert.Equal(new DesMoe.Formats.Tokenization.SpecialTokens(Begin: 1, End: 2, Pad: 0, Separator: 1), tokenizer.Special);
        var text = "the cat sat on the mat";
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void Ids_past_the_tokenizer_but_inside_the_model_vocabulary_decode_to_nothing()
    {
        using var loaded = ModelFolder.Load(HubFixtures.Folder("qwen2_moe"));
        var ids = loaded.Tokenizer.Encode("cat").ToList();
        Assert.True(loaded.Config.VocabSize > loaded.Tokenizer.VocabSize, "the fixture's vocab_size is padded past its tokenizer");

        Assert.Equal("cat", loaded.Tokenizer.Decode([.. ids, loaded.Config.VocabSize - 1]));
    }

    [Fact]
    public void A_sharded_checkpoint_is_saved_back_in_the_same_shards_under_the_same_index()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDirectory();
        var sharded = dir.File("sharded");
        HubFixtures.CopyFolder("olmoe", sharded, includeWeights: false);
        var source = new SafetensorsFile(Path.Combine(HubFixtures.Folder("olmoe"), SafetensorsCheckpoint.SingleFileName));
        var names = source.Tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var weightMap = new JsonObject();
        for (int s = 0; s < 3; s++)
        {
            var shard = $"model-{s + 1:D5}-of-00003.safetensors";
            var mine = names.Where((_, i) => i % 3 == s).ToList();
            SafetensorsWriter.Write(Path.Combine(sharded, shard), mine.Select(n => (n, source.Read(n))).ToList());
            foreach (var name in mine) weightMap[name] = shard;
        }
        File.WriteAllText(Path.Combine(sharded, SafetensorsCheckpoint.IndexFileName),
            new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap }.ToJsonString());
        using var loaded = ModelFolder.Load(sharded);

        ModelFolder.Save(dir.File("saved"), loaded);

        var saved = dir.File("saved");
        Assert.False(File.Exists(Path.Combine(saved, SafetensorsCheckpoint.SingleFileName)));
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(saved, SafetensorsCheckpoint.IndexFileName)))!;
        Assert.Equal(names, index["weight_map"]!.AsObject().Select(p => p.Key));
        Assert.All(index["weight_map"]!.AsObject(), p => Assert.Equal(weightMap[p.Key]!.GetValue<string>(), p.Value!.GetValue<string>()));
        Assert.Equal(source.Tensors.Values.Sum(t => t.End - t.Begin), index["metadata"]!["total_size"]!.GetValue<long>());
        using var reference = HubModelLoader.Load(saved);
        using (no_grad())
            Assert.InRange(HubFixtures.MaxAbsDiff(reference.Module.Forward(HubFixtures.Expected("olmoe", "input_ids")), HubFixtures.Expected("olmoe", "logits")), 0, Tolerance);
    }
}
