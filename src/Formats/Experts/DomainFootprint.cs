using DesMoe.Formats.Config;

namespace DesMoe.Formats.Experts;

/// <summary>
/// What one domain holds that nothing else uses: a copied domain its expert copies (memory the model gains with it and
/// loses with it), a domain that owns experts (made before copies) those experts. <see cref="Bytes"/> at fp32.
/// </summary>
public sealed record DomainFootprint(string Domain, long Parameters, long Bytes)
{
    public const int BytesPerParameter = sizeof(float);

    /// <summary>Parameters of one routed expert: gate, up and down projections.</summary>
    public static long ExpertParameters(MoeConfig config) => 3L * config.HiddenSize * config.ExpertHiddenSize;

    /// <summary>Bytes a new copied domain of <paramref name="copiesPerLayer"/> copies in every MoE layer adds.</summary>
    public static long BytesOfCopies(MoeConfig config, int copiesPerLayer) => copiesPerLayer * config.NumMoeLayers * ExpertParameters(config) * BytesPerParameter;

    public static IReadOnlyList<DomainFootprint> Of(MoeConfig config, ExpertAssignment assignment) =>
        assignment.Domains.Select((name, d) =>
        {
            long parameters = assignment.Experts.Sum(layer => (long)layer[d].Length) * ExpertParameters(config);
            return new DomainFootprint(name, parameters, parameters * BytesPerParameter);
        }).ToList();
}
