using System.Text.Json;
using System.Text.Json.Nodes;
using DesMoe.Formats.Config;
using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures;

/// <summary>
/// A hub-layout folder read as the trainable model's config, without any weights: its architecture's
/// <see cref="DesMoeForm"/>, and DES-MoE's side files (the adaptive router's width). The TorchSharp side
/// (<c>DesMoe.Torch.Checkpoints.HubTrainableFolder</c>) loads the weights into it and saves them back.
/// </summary>
public static class HubModelFolder
{
    /// <summary>
    /// <c>{"adaptive_router_width": N, "domain_expert_copies": C}</c>, each key only when positive: present when the model
    /// has DES-MoE's adaptive router or domains' expert copies, which the hub config.json cannot describe.
    /// </summary>
    public const string SideConfigFileName = "desmoe.json";

    /// <summary>Domains' expert copies, float32, under the trainable model's names (<c>layers.{i}.mlp.experts.{n_routed + j}.*</c>).</summary>
    public const string ExpertCopiesFileName = "desmoe_expert_copies.safetensors";

    /// <summary>The adaptive router's residual MLPs, float32, under the trainable model's names (<c>layers.{i}.mlp.router.adapter.*</c>).</summary>
    public const string RouterWeightsFileName = "desmoe_router.safetensors";

    /// <summary>The tokenizer.json of a hub folder, read by the model's tokenizer rather than DesMoe's own tokenizer file.</summary>
    public const string TokenizerFileName = HubFolder.TokenizerFileName;

    /// <summary>True when <paramref name="folder"/>'s config.json names a hub <c>model_type</c> (anything but DesMoe's own).</summary>
    public static bool IsHubFolder(string folder)
    {
        var path = Path.Combine(folder, HubFolder.ConfigFileName);
        if (!File.Exists(path)) return false;
        try
        {
            var type = JsonNode.Parse(File.ReadAllText(path))?["model_type"];
            return type is JsonValue value && value.TryGetValue<string>(out var name) && name != new MoeConfig().ModelType;
        }
        catch (JsonException)
        {
            return false; // the native loader reports the malformed file
        }
    }

    /// <summary>The trainable config of a hub folder (with the adaptive router's width when it has one), without loading weights.</summary>
    public static MoeConfig ReadConfig(string folder) => Open(folder).Config;

    /// <summary>The folder, its architecture's trainable form, and that form's config with the adaptive router's width.</summary>
    public sealed record Opened(HubFolder Folder, DesMoeForm Form, MoeConfig Config);

    public static Opened Open(string folder)
    {
        var hub = HubFolder.Open(folder);
        var form = hub.Architecture.ToDesMoe(hub.ReadModelConfig());
        var (width, copies) = SideConfig(folder);
        return new Opened(hub, form, (form.Config with { AdaptiveRouterWidth = width, DomainExpertCopies = copies }).Validate());
    }

    /// <summary>The side config's adaptive router width and expert copies per layer (0 for an absent file or key).</summary>
    private static (int AdaptiveRouterWidth, int DomainExpertCopies) SideConfig(string folder)
    {
        var path = Path.Combine(folder, SideConfigFileName);
        if (!File.Exists(path)) return (0, 0);
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path));
            int Positive(string key)
            {
                var node = root?[key];
                if (node is null) return 0;
                return node is JsonValue v && v.TryGetValue<int>(out var n) && n > 0
                    ? n
                    : throw new HubModelException($"{path}: {key} must be a positive integer (got {node.ToJsonString()})");
            }
            var sides = (Positive("adaptive_router_width"), Positive("domain_expert_copies"));
            return sides == (0, 0) ? throw new HubModelException($"{path}: neither adaptive_router_width nor domain_expert_copies is given") : sides;
        }
        catch (JsonException e)
        {
            throw new HubModelException($"{path}: malformed JSON: {e.Message}", e);
        }
    }
}
