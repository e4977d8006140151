using System.Text.RegularExpressions;
using DesMoe.Torch.Model;
using TorchSharp.Modules;

namespace DesMoe.Trainer.Adaptation;

public enum ParameterRole
{
    /// <summary>Embeddings, attention, norms, LM head.</summary>
    Backbone,
    Router,
    RoutedExpert,
    SharedExpert,
}

public sealed record RoledParameter(string Name, Parameter Parameter, ParameterRole Role, int Layer, int Expert);

/// <summary>Classifies every model parameter by what it is, from its Hugging Face style name.</summary>
public static partial class ParameterRoles
{
    [GeneratedRegex(@"^layers\.(\d+)\.mlp\.(router|experts|shared_experts|shared_experts_gate)\.(?:(\d+)\.)?")]
    private static partial Regex MoeName();

    public static IReadOnlyList<RoledParameter> Classify(MoeTransformer model) =>
        model.named_parameters().Select(p =>
        {
            var m = MoeName().Match(p.name);
            if (!m.Success) return new RoledParameter(p.name, p.parameter, ParameterRole.Backbone, -1, -1);
            int layer = int.Parse(m.Groups[1].Value);
            return m.Groups[2].Value switch
            {
                "router" => new RoledParameter(p.name, p.parameter, ParameterRole.Router, layer, -1),
                "experts" => new RoledParameter(p.name, p.parameter, ParameterRole.RoutedExpert, layer, int.Parse(m.Groups[3].Value)),
                _ => new RoledParameter(p.name, p.parameter, ParameterRole.SharedExpert, layer, -1),
            };
        }).ToList();
}
