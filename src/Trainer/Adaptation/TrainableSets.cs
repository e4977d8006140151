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
    /// Whether the method may train <paramref name="p"/> in some phase of a run: what the run holds in float32 (a model
    /// loaded from a bf16 checkpoint keeps the rest in bf16). An upper bound of <see cref="For"/> over every phase.
    /// </summary>
    /// <param name="selected">per MoE layer, ESFT's selected experts when they are known before the run (null: every routed expert may train)</param>
    /// <param name="pool">the domain-routed variant's adaptable experts</param>
    public static bool MayTrain(AdaptationOptions options, RoledParameter p, IReadOnlyList<IReadOnlySet<int>>? selected, AdaptablePool? pool) =>
        options.Method switch
        {
            AdaptationMethod.FullFineTuning => true,
            AdaptationMethod.Esft => p.Role == ParameterRole.RoutedExpert && (selected is null || selected[p.Layer].Contains(p.Expert))
                                     || p.Role == ParameterRole.Router && options.EsftAdaptiveRouter,
            // LoRA computes with W = W0 + s B A written back into the weight after every step.
            AdaptationMethod.Lora => For(options, [p], null, null, null).Count > 0,
            AdaptationMethod.DomainRouted => p.Role switch
            {
                ParameterRole.Router => true,
                ParameterRole.RoutedExpert => pool!.Experts[p.Layer].Contains(p.Expert),
                ParameterRole.SharedExpert => options.TrainSharedExperts,
                _ => false,
            },
            _ => p.Role switch
            {
                ParameterRole.Router or ParameterRole.RoutedExpert => true,
                ParameterRole.SharedExpert => options.WarmupTrainsBackbone || options.TrainSharedExperts,
                _ => options.WarmupTrainsBackbone,
            },
        };

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
