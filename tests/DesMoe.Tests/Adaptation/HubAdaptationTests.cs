using System.Text.Json.Nodes;
using DesMoe.Formats.Hub;
using DesMoe.Tests.Reference;
using DesMoe.Torch.Safetensors;
using DesMoe.Tests.Architectures;
using DesMoe.Tests.Cli;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Adaptation;

/// <summary>
/// DES-MoE on DeepSeek-V2, the paper's backbone, as a user runs it: <c>desmoe adapt</c> on the hub fixture (latent
/// attention, a dense first layer, YaRN), then <c>desmoe export</c> of the result.
/// </summary>
public class HubAdaptationTests
{
    [Fact]
    public async Task DesMoe_adapts_DeepSeek_V2_keeps_its_hub_layout_and_exports_it()
    {
        using var dir = new TempDirectory();
        var adapted = dir.File("adapted");
        var fixture = HubFixtures.Folder("deepseek_v2");

        var adapt = await CliRunner.RunAsync("", null, "adapt", "--model", fixture, "--method", "DesMoe", "--domains", "math,law",
            "--steps", "30", "--batch-size", "8", "--train-examples", "200", "--eval-examples", "10", "--matrix-refresh-every", "5", "--out", adapted);
        Assert.True(adapt.ExitCode == 0, adapt.Output + adapt.Error);

        // The hub layout: same tensor names, config byte for byte, DES-MoE's extras beside them.
        var names = new SafetensorsFile(Path.Combine(fixture, SafetensorsCheckpoint.SingleFileName)).Tensors.Keys.Order();
        Assert.Equal(names, new SafetensorsFile(Path.Combine(adapted, SafetensorsCheckpoint.SingleFileName)).Tensors.Keys.Order());
        Assert.Equal(File.ReadAllBytes(Path.Combine(fixture, HubFolder.ConfigFileName)), File.ReadAllBytes(Path.Combine(adapted, HubFolder.ConfigFileName)));
        // The expert-domain masks cover the two MoE layers, not the dense layer 0.
        var masks = JsonNode.Parse(File.ReadAllText(Path.Combine(adapted, "expert_domain_masks.json")))!;
        Assert.Equal(2, masks["layers"]!.AsArray().Count);

        // Training reached the checkpoint that the transformers-faithful reference loader reads.
        using (var reference = HubModelLoader.Load(adapted))
        using (no_grad())
        {
            var ids = HubFixtures.Expected("deepseek_v2", "input_ids");
            Assert.True(HubFixtures.MaxAbsDiff(reference.Module.Forward(ids), HubFixtures.Expected("deepseek_v2", "logits")) > 1e-3);
        }

        var export = await CliRunner.RunAsync("", null, "export", adapted, dir.File("onnx"));
        Assert.True(export.ExitCode == 0, export.Output + export.Error);
        Assert.Contains("no genai_config.json: its KV cache is multi-head latent attention's", export.Output);
        Assert.True(File.Exists(Path.Combine(dir.File("onnx"), "model.onnx")));
    }
}
