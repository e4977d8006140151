using System.Text.Json.Nodes;
using DesMoe.Formats.Architectures;
using DesMoe.Formats.Hub;
using DesMoe.Tests.Reference;
using DesMoe.Torch.Safetensors;
using DesMoe.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

/// <summary>Reading hub folders: config spellings, shards, stored dtypes, and the one-line errors for what is not supported.</summary>
public class HubLoadingTests(ITestOutputHelper output)
{
    [Fact]
    public void An_unsupported_model_type_fails_with_one_line_listing_the_supported_ones()
    {
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder("mixtral", dir.Path);
        EditConfig(dir.Path, config => config["model_type"] = "jamba");

        var error = Assert.Throws<HubModelException>(() => HubModelLoader.Load(dir.Path));

        Assert.Equal("model_type 'jamba' is not supported (supported: deepseek_v2, mixtral, olmoe, qwen2_moe, qwen3_moe)", error.Message);
    }

    [Theory]
    [InlineData("deepseek_v2", "topk_method", "noaux_tc", "deepseek_v2: topk_method 'noaux_tc' is not supported (supported: greedy, group_limited_greedy)")]
    [InlineData("deepseek_v2", "scoring_func", "sigmoid", "deepseek_v2: scoring_func 'sigmoid' is not supported (supported: softmax)")]
    [InlineData("mixtral", "sliding_window", 4096, "mixtral: sliding_window 4096 is not supported (supported: null)")]
    [InlineData("qwen2_moe", "use_sliding_window", true, "qwen2_moe: use_sliding_window true is not supported (supported: false)")]
    [InlineData("olmoe", "hidden_act", "gelu", "olmoe: hidden_act 'gelu' is not supported (supported: silu)")]
    public void An_unsupported_field_value_fails_with_one_line_naming_field_and_value(string model, string field, object value, string message)
    {
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder(model, dir.Path, includeWeights: false);
        EditConfig(dir.Path, config => config[field] = JsonValue.Create(value));

        var error = Assert.Throws<HubModelException>(() => HubModelLoader.Load(dir.Path));

        Assert.Equal(message, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void An_unsupported_rope_type_is_named_with_the_field_it_came_from()
    {
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder("qwen3_moe", dir.Path, includeWeights: false);
        EditConfig(dir.Path, config => config["rope_parameters"]!["rope_type"] = "longrope");

        var error = Assert.Throws<HubModelException>(() => HubModelLoader.Load(dir.Path));

        Assert.Equal("qwen3_moe: rope_parameters.rope_type 'longrope' is not supported (supported: default, yarn, linear)", error.Message);
    }

    [Fact]
    public void A_missing_and_an_unexpected_tensor_are_both_named()
    {
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder("qwen3_moe", dir.Path, includeWeights: false);
        RewriteWeights("qwen3_moe", dir.Path, tensors =>
        {
            var norm = tensors["model.norm.weight"];
            tensors.Remove("model.norm.weight");
            tensors["model.final_norm.weight"] = norm;
        });

        var error = Assert.Throws<HubModelException>(() => HubModelLoader.Load(dir.Path));

        Assert.Equal("checkpoint does not match the architecture: missing tensor 'model.norm.weight'; unexpected tensor 'model.final_norm.weight'", error.Message);
    }

    [Fact]
    public void A_mis_shaped_tensor_is_named_with_both_shapes()
    {
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder("olmoe", dir.Path, includeWeights: false);
        RewriteWeights("olmoe", dir.Path, tensors => tensors["model.layers.1.mlp.gate.weight"] = zeros(7, 64));

        var error = Assert.Throws<HubModelException>(() => HubModelLoader.Load(dir.Path));

        Assert.Equal("tensor 'model.layers.1.mlp.gate.weight' has shape [7, 64] in the checkpoint but the model expects [8, 64]", error.Message);
    }

    [Fact]
    public void A_sharded_checkpoint_loads_to_the_same_logits()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder("deepseek_v2", dir.Path, includeWeights: false);
        var source = new SafetensorsFile(Path.Combine(HubFixtures.Folder("deepseek_v2"), SafetensorsCheckpoint.SingleFileName));
        var names = source.Tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var shards = new[] { names.Where((_, i) => i % 2 == 0).ToList(), names.Where((_, i) => i % 2 == 1).ToList() };
        var weightMap = new JsonObject();
        for (int s = 0; s < shards.Length; s++)
        {
            var shardName = $"model-{s + 1:D5}-of-{shards.Length:D5}.safetensors";
            SafetensorsWriter.Write(Path.Combine(dir.Path, shardName), shards[s].Select(n => (n, source.Read(n))));
            foreach (var name in shards[s]) weightMap[name] = shardName;
        }
        File.WriteAllText(Path.Combine(dir.Path, SafetensorsCheckpoint.IndexFileName),
            new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap }.ToJsonString());
        Assert.False(File.Exists(Path.Combine(dir.Path, SafetensorsCheckpoint.SingleFileName)));

        using var hub = HubModelLoader.Load(dir.Path);

        Assert.Equal(2, SafetensorsCheckpoint.Open(dir.Path).Files.Count);
        var logits = hub.Module.Forward(HubFixtures.Expected("deepseek_v2", "input_ids"));
        Assert.InRange(HubFixtures.MaxAbsDiff(logits, HubFixtures.Expected("deepseek_v2", "logits")), 0, 1e-4);
    }

    [Theory]
    [InlineData("qwen2_moe", ScalarType.Float16, 5e-3)]
    [InlineData("qwen2_moe", ScalarType.BFloat16, 5e-2)]
    [InlineData("deepseek_v2", ScalarType.BFloat16, 5e-2)]
    public void Half_precision_checkpoints_load_into_float32_parameters_close_to_the_reference(string model, ScalarType stored, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder(model, dir.Path, includeWeights: false);
        RewriteWeights(model, dir.Path, tensors =>
        {
            foreach (var name in tensors.Keys.ToList()) tensors[name] = tensors[name].to(stored);
        });
        Assert.All(new SafetensorsFile(Path.Combine(dir.Path, SafetensorsCheckpoint.SingleFileName)).Tensors.Values,
            t => Assert.Equal(SafetensorsDType.FromScalarType(stored), t.DType));

        using var hub = HubModelLoader.Load(dir.Path);

        Assert.All(hub.Module.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        var logits = hub.Module.Forward(HubFixtures.Expected(model, "input_ids"));
        double diff = HubFixtures.MaxAbsDiff(logits, HubFixtures.Expected(model, "logits"));
        output.WriteLine($"{model} stored as {stored}: max |logit diff| = {diff:E2}");
        Assert.InRange(diff, 1e-7, tolerance); // rounded weights must move the logits, but only a little
    }

    [Theory]
    [InlineData("deepseek_v2")]
    [InlineData("qwen3_moe")]
    public void Both_rope_spellings_give_the_same_logits(string model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder(model, dir.Path);
        EditConfig(dir.Path, SwapRopeSpelling);

        using var hub = HubModelLoader.Load(dir.Path);

        var logits = hub.Module.Forward(HubFixtures.Expected(model, "input_ids"));
        Assert.InRange(HubFixtures.MaxAbsDiff(logits, HubFixtures.Expected(model, "logits")), 0, 1e-4);
    }

    [Fact]
    public void Tied_embeddings_project_with_the_embedding_matrix_and_need_no_lm_head()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var tied = new TempDirectory();
        using var untied = new TempDirectory();
        HubFixtures.CopyFolder("mixtral", tied.Path, includeWeights: false);
        HubFixtures.CopyFolder("mixtral", untied.Path, includeWeights: false);
        EditConfig(tied.Path, config => config["tie_word_embeddings"] = true);
        RewriteWeights("mixtral", tied.Path, tensors => tensors.Remove("lm_head.weight"));
        RewriteWeights("mixtral", untied.Path, tensors => tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"].clone());

        using var tiedModel = HubModelLoader.Load(tied.Path);
        using var untiedModel = HubModelLoader.Load(untied.Path);

        Assert.DoesNotContain(tiedModel.Module.named_parameters(), p => p.name == "lm_head.weight");
        var ids = HubFixtures.Expected("mixtral", "input_ids");
        Assert.InRange(HubFixtures.MaxAbsDiff(tiedModel.Module.Forward(ids), untiedModel.Module.Forward(ids)), 0, 1e-6);
    }

    [Fact]
    public void Half_precision_parameters_are_refused_until_supported()
    {
        var error = Assert.Throws<ArgumentException>(() => HubFixtures.Load("olmoe", new HubLoadOptions(ScalarType.BFloat16)));
        Assert.StartsWith("parameter dtype BFloat16 is not supported yet", error.Message);
    }

    [Fact]
    public void Eos_ids_are_read_as_an_int_or_a_list()
    {
        using var dir = new TempDirectory();
        HubFixtures.CopyFolder("olmoe", dir.Path, includeWeights: false);
        var folder = HubFolder.Open(dir.Path);
        Assert.Equal([2], folder.ReadGenerationConfig().EosTokenIds);

        File.WriteAllText(Path.Combine(dir.Path, GenerationConfig.FileName), """{"eos_token_id": [2, 7], "bos_token_id": 1}""");

        var generation = folder.ReadGenerationConfig();
        Assert.Equal([2, 7], generation.EosTokenIds);
        Assert.Equal(1, generation.BosTokenId);
    }

    [Fact]
    public void Registry_lists_five_architectures_each_building_a_module_named_like_its_checkpoint()
    {
        Assert.Equal(["deepseek_v2", "mixtral", "olmoe", "qwen2_moe", "qwen3_moe"], ArchitectureRegistry.SupportedModelTypes);
        Assert.Subset(HubFixtures.Models.ToHashSet(), ArchitectureRegistry.SupportedModelTypes.ToHashSet()); // a fixture for each
        foreach (var model in HubFixtures.Models)
        {
            var folder = HubFolder.Open(HubFixtures.Folder(model));
            using var module = ReferenceModels.Build(folder.ReadModelConfig());
            var names = module.named_parameters().Select(p => p.name).Order(StringComparer.Ordinal);
            var stored = folder.OpenWeights().Tensors.Select(t => t.Name).Order(StringComparer.Ordinal);
            Assert.Equal(stored, names);
        }
    }

    /// <summary>Hub spelling (rope_scaling + rope_theta) to transformers 5's rope_parameters, or back.</summary>
    private static void SwapRopeSpelling(JsonObject config)
    {
        if (config["rope_parameters"] is JsonObject parameters)
        {
            config.Remove("rope_parameters");
            config["rope_theta"] = parameters["rope_theta"]!.DeepClone();
            parameters.Remove("rope_theta");
            parameters["type"] = parameters["rope_type"]!.DeepClone();
            parameters.Remove("rope_type");
            config["rope_scaling"] = parameters["type"]!.GetValue<string>() == "default" ? null : parameters;
            return;
        }
        var scaling = (JsonObject)config["rope_scaling"]!.DeepClone();
        scaling["rope_type"] = scaling["type"]!.DeepClone();
        scaling.Remove("type");
        scaling["rope_theta"] = config["rope_theta"]!.DeepClone();
        config.Remove("rope_scaling");
        config.Remove("rope_theta");
        config["rope_parameters"] = scaling;
    }

    private static void EditConfig(string folder, Action<JsonObject> edit)
    {
        var path = Path.Combine(folder, HubFolder.ConfigFileName);
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>Writes the fixture's weights, edited, as <paramref name="folder"/>/model.safetensors.</summary>
    private static void RewriteWeights(string model, string folder, Action<Dictionary<string, Tensor>> edit)
    {
        var source = new SafetensorsFile(Path.Combine(HubFixtures.Folder(model), SafetensorsCheckpoint.SingleFileName));
        var tensors = source.Tensors.Keys.ToDictionary(n => n, source.Read, StringComparer.Ordinal);
        edit(tensors);
        SafetensorsWriter.Write(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName), tensors.Select(p => (p.Key, p.Value)));
        foreach (var tensor in tensors.Values) tensor.Dispose();
    }
}
