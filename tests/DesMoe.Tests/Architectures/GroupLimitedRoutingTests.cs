using System.Text.Json.Nodes;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Tests.Export;
using DesMoe.Tests.Reference;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DesMoe.Tests.Architectures;

/// <summary>
/// DeepSeek's group-limited greedy routing (DeepSeek-V2 and V2-Chat route this way) on the deepseek_v2 fixture's
/// weights with its config switched to 4 groups of 2 experts, 2 kept: the trainable form and the export against the
/// reference form (held to transformers' routing rule by <see cref="HubRoutingTests"/>) until transformers itself
/// makes a fixture of it on a machine that has it.
/// </summary>
public class GroupLimitedRoutingTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    private static string GroupLimitedCopy(TempDirectory dir, int groups = 4, int kept = 2)
    {
        var folder = dir.File("deepseek_v2-groups");
        HubFixtures.CopyFolder("deepseek_v2", folder);
        var path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["topk_method"] = "group_limited_greedy";
        config["n_group"] = groups;
        config["topk_group"] = kept;
        File.WriteAllText(path, config.ToJsonString());
        return folder;
    }

    [Fact]
    public void The_trainable_form_routes_as_the_reference_does_plain_and_left_padded()
    {
        using var dir = new TempDirectory();
        var folder = GroupLimitedCopy(dir);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var reference = HubModelLoader.Load(folder);
        using var loaded = ModelFolder.Load(folder);
        Assert.Equal((4, 2), (loaded.Config.RouterGroups, loaded.Config.RouterGroupsKept));
        var ids = HubFixtures.Expected("deepseek_v2", "input_ids");
        var mask = HubFixtures.Expected("deepseek_v2", "padded_attention_mask");
        var positions = HubFixtures.Expected("deepseek_v2", "padded_position_ids");

        var expected = reference.Module.Forward(ids);
        double plain = HubFixtures.MaxAbsDiff(loaded.Model.Forward(ids).Logits, expected);
        double padded = HubFixtures.MaxAbsDiff(loaded.Model.Forward(ids, mask, positions).Logits, reference.Module.Forward(ids, mask, positions), mask);
        // The groups change the routing: plain greedy (the fixture's own logits) is measurably different.
        double fromGreedy = HubFixtures.MaxAbsDiff(expected, HubFixtures.Expected("deepseek_v2", "logits"));
        output.WriteLine($"max |logit diff|: plain {plain:E2}, left-padded {padded:E2}; group-limited vs greedy {fromGreedy:E2}");
        Assert.InRange(plain, 0, Tolerance);
        Assert.InRange(padded, 0, Tolerance);
        Assert.True(fromGreedy > 1e-3, $"group-limited routing left the logits within {fromGreedy:E2} of plain greedy");
    }

    [Theory]
    [InlineData(ExpertKernel.StandardOps)]
    [InlineData(ExpertKernel.ContribMoe)]
    public void The_export_matches_torchsharp_for_every_domain_under_both_kernels(ExpertKernel kernel)
    {
        using var dir = new TempDirectory();
        var folder = GroupLimitedCopy(dir);
        ExportParity.AssignEveryLayer(folder, ("math", [0, 1, 2]), ("law", [4, 5, 6]));

        var result = ModelExporter.Export(folder, dir.File("onnx"), new ExportOptions { Experts = kernel });

        var parity = ExportParity.OnRandomPrompts(folder, result.ModelPath, seed: 3, maxLength: 30);
        Assert.Equal(3, parity.Count);
        ExportParity.AssertWithin(parity, Tolerance, output, kernel.ToString());
    }

    [Fact]
    public void A_top_k_larger_than_the_kept_groups_hold_is_refused_naming_both()
    {
        using var dir = new TempDirectory();
        var folder = GroupLimitedCopy(dir, groups: 4, kept: 1); // 1 group of 2 experts, top-k 3
        var error = Assert.ThrowsAny<Exception>(() => ModelFolder.Load(folder));
        Assert.Contains("num_experts_per_tok (3) exceeds the 2 experts of topk_group (1) groups", error.Message);
    }
}
