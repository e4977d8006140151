using DesMoe.Formats.Hub;
using DesMoe.Tests.Support;
using DesMoe.Torch.Inspection;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Cli;
using Xunit;

namespace DesMoe.Tests.Architectures;

/// <summary><c>model inspect</c>'s report; expected counts come from the fixtures' safetensors headers (tests/fixtures/hf-moe).</summary>
public class HubInspectTests
{
    [Fact]
    public void Deepseek_report_counts_dense_and_moe_layers_and_active_parameters()
    {
        var report = ModelInspector.Inspect(HubFixtures.Folder("deepseek_v2"));

        Assert.Equal("deepseek_v2", report.ModelType);
        Assert.Equal(["DeepseekV2ForCausalLM"], report.ArchitectureNames);
        Assert.Equal((1, 2), (report.DenseLayers, report.MoeLayers));
        Assert.False(report.Layers[0].IsMoe);
        Assert.All(report.Layers.Skip(1), l => Assert.Equal((8, 2, 3), (l.RoutedExperts, l.SharedExperts, l.TopK)));
        Assert.Equal(330_784, report.TotalParameters);
        // Two MoE layers each skip 8 - 3 routed experts of 3 x 32 x 64 weights.
        Assert.Equal(330_784 - 2 * 5 * 6_144, report.ActiveParameters);
        Assert.Equal(new Dictionary<string, int> { ["F32"] = report.DTypes.Values.Sum() }, report.DTypes);
        Assert.Equal(TokenizerKind.ByteLevelBpe, report.TokenizerKind);
        Assert.Equal([2], report.EosTokenIds);

        var lines = report.Lines().ToList();
        Assert.Contains("layers             3 (1 dense, 2 MoE)", lines);
        Assert.Contains("  layer 0: dense MLP", lines);
        Assert.Contains("  layers 1-2: MoE, 8 routed experts (top-3) + 2 shared", lines);
        Assert.Contains("parameters         330,784 total, 269,344 active per token", lines);
    }

    [Fact]
    public void Mixtral_report_names_the_metaspace_tokenizer_and_all_moe_layers()
    {
        var report = ModelInspector.Inspect(HubFixtures.Folder("mixtral"));

        Assert.Equal((0, 3), (report.DenseLayers, report.MoeLayers));
        Assert.Equal(242_880 - 3 * 2 * 6_144, report.ActiveParameters);
        Assert.Equal(TokenizerKind.MetaspaceBpe, report.TokenizerKind);
        Assert.Contains("  layers 0-2: MoE, 4 routed experts (top-2)", report.Lines());
    }

    [Fact]
    public async Task Cli_model_inspect_prints_the_report_and_fails_in_one_line_on_an_unsupported_folder()
    {
        var ok = await CliRunner.RunAsync("http://127.0.0.1:1", null, "model", "inspect", HubFixtures.Folder("qwen2_moe"));
        Assert.Equal(0, ok.ExitCode);
        Assert.Contains("model_type         qwen2_moe (Qwen2MoeForCausalLM)", ok.Output);
        Assert.Contains("layers 0-2: MoE, 8 routed experts (top-2) + 1 shared", ok.Output);
        Assert.Contains("tokenizer          byte-level BPE, 1,000 ids (config vocab_size 1,024)", ok.Output);

        var bad = await CliRunner.RunAsync("http://127.0.0.1:1", null, "model", "inspect", HubFixtures.Root);
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal($"error: {HubFixtures.Root}: no config.json", bad.Error.Trim());
    }

    [Theory]
    [InlineData("qwen2_moe", null, null, "adapt/export/serve supported")]
    [InlineData("deepseek_v2", null, null, "adapt/export/serve supported")]
    [InlineData("deepseek_v2", "\"first_k_dense_replace\": 1", "\"first_k_dense_replace\": 3", "adapt/export/serve not supported: deepseek_v2: every layer is dense")]
    public void Inspect_says_whether_the_pipeline_takes_the_folder(string model, string? field, string? edited, string expected)
    {
        using var dir = new TempDirectory();
        var folder = HubFixtures.Folder(model);
        if (field is not null)
        {
            folder = dir.File(model);
            HubFixtures.CopyFolder(model, folder);
            var config = Path.Combine(folder, HubFolder.ConfigFileName);
            File.WriteAllText(config, File.ReadAllText(config).Replace(field, edited));
        }

        var lines = ModelInspector.Inspect(folder).Lines().ToList();

        Assert.Contains(lines, line => line.StartsWith(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.StartsWith("desmoe ", StringComparison.Ordinal));
    }

    [Fact]
    public void Inspect_explains_what_the_fields_mean_for_adaptation_and_export()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("deepseek_v2");
        HubFixtures.CopyFolder("deepseek_v2", folder);
        var config = Path.Combine(folder, HubFolder.ConfigFileName);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"topk_method\": \"greedy\"", "\"topk_method\": \"group_limited_greedy\"")
            .Replace("\"n_group\": 1", "\"n_group\": 4").Replace("\"topk_group\": 1", "\"topk_group\": 2"));

        var lines = ModelInspector.Inspect(folder).Lines().ToList();

        Assert.Contains(lines, l => l.StartsWith("  routing     softmax over 8 routed experts, top-3 from the best 2 of 4 groups (n_group, topk_group", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("  layers      3: dense SwiGLU (intermediate_size 128) at [0] (first_k_dense_replace), 2 MoE", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("  attention   multi-head latent (kv_lora_rank 32)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("  rope        theta 10000, yarn scaling", StringComparison.Ordinal));
        Assert.Contains("  embeddings  separate lm_head", lines);
    }
}
