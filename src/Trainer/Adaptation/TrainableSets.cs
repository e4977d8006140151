using DesMoe.Formats.Experts;

namespace DesMoe.Trainer.Adaptation;

/// <summary>Which parameters train, per method and phase.</summary>
public static class TrainableSets
{
    /// <param name="assignment">each domain's experts (DES-MoE's S_d, the domain-routed assignment, ESFT's selection); null before there is one</param>
    /// <param name="pool">the domain-routed variant's adaptable experts</param>
    public static List<RoledParameter> For(AdaptationOptions options, IReadOnlyList<RoledParameter> parameters, TrainingPhase? phase,
        ExpertAssignment? assignment, AdaptablePool? pool)
    {
        switch (options.Method)
        {
            case AdaptationMethod.FullFineTuning:
                return parameters.ToList();
            case AdaptationMethod.Esft:
                var selected = assignment!.AssignedPerLayer();
                return parameters.Where(p => p.Role == ParameterRole.RoutedExpert && selected[p.Layer].Contains(p.Expert)
                                             || p.Role == ParameterRole.Router && options.EsftAdaptiveRouter).ToList();
            case AdaptationMethod.Lora:
                // The matrices LoRA adapts (their factors are what trains; see LowRankAdapters).
                return parameters.Where(p => p.Name.EndsWith("proj.weight") && (p.Name.Contains(".self_attn.")
                    || p.Role is ParameterRole.RoutedExpert or ParameterRole.SharedExpert)).ToList();
            case AdaptationMethod.DomainRouted:
                return DomainRouted(options, parameters, phase, assignment, pool!);
            default:
                return DesMoe(options, parameters, phase, assignment);
        }
    }

    /// <summary>
    /// The paper's sets. Stage I (warm-up): router and backbone (embeddings, attention, norms, LM head, shared experts),
    /// plus the routed experts when <see cref="AdaptationOptions.WarmupTrainsExperts"/>. Stage II (stabilization): router
    /// and the union of the S_d. Stage III (consolidation): the S_d only. Without masks, every routed expert is in S_d.
    /// </summary>
    private static List<RoledParameter> DesMoe(AdaptationOptions options, IReadOnlyList<RoledParameter> parameters, TrainingPhase? phase,
        ExpertAssignment? assignment)
    {
        if (phase == TrainingPhase.Warmup)
            return parameters.Where(p => p.Role switch
            {
                ParameterRole.Router => true,
                ParameterRole.RoutedExpert => options.WarmupTrainsExperts,
                _ => options.WarmupTrainsBackbone,
            }).ToList();
        var owned = options.GradientIsolation ? assignment?.AssignedPerLayer() : null;
        return parameters.Where(p => p.Role switch
        {
            ParameterRole.Router => phase != TrainingPhase.Consolidation,
            ParameterRole.RoutedExpert => owned is null || owned[p.Layer].Contains(p.Expert),
            ParameterRole.SharedExpert => options.TrainSharedExperts,
            _ => false,
        }).ToList();
    }

    /// <summary>Warm-up trains the router and the pool's experts; later phases the domains' experts, the router until consolidation.</summary>
    private static List<RoledParameter> DomainRouted(AdaptationOptions options, IReadOnlyList<RoledParameter> parameters, TrainingPhase? phase,
        ExpertAssignment? assignment, AdaptablePool pool)
    {
        IReadOnlyList<IReadOnlySet<int>> adaptable = phase == TrainingPhase.Warmup || assignment is null ? pool.Experts : assignment.AssignedPerLayer();
        return parameters.Where(p => p.Role switch
        {
            ParameterRole.Router => phase != TrainingPhase.Consolidation,
            ParameterRole.RoutedExpert => adaptable[p.Layer].Contains(p.Expert),
            ParameterRole.SharedExpert => options.TrainSharedExperts,
            _ => false,
        }).ToList();
    }
}
