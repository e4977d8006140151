namespace DesMoe.Trainer.Adaptation;

public enum AdaptationMethod
{
    /// <summary>
    /// DES-MoE as the paper defines it: adaptive router distilled from the pre-trained one, expert-domain masks by a
    /// relative threshold, three phases. One unified model that needs no domain label at inference.
    /// </summary>
    DesMoe,
    /// <summary>
    /// Ours: DES-MoE trained and served under domain routing. Only a pool of experts chosen for least general-ability
    /// cost adapts, each domain's tokens route to its own experts, and the no-domain path never reaches them, so general
    /// text computes exactly as before. Needs the domain (named by the client or inferred by the server) at inference.
    /// </summary>
    DomainRouted,
    /// <summary>Full fine-tuning: every parameter trains on every domain's batches.</summary>
    FullFineTuning,
    /// <summary>
    /// ESFT: only the experts most relevant to the domain train; router and everything else frozen. With several
    /// domains (ESFT mixed) the union of each domain's selection trains on the mixed data.
    /// </summary>
    Esft,
    /// <summary>LoRA on every attention and expert projection (router, embeddings, norms frozen), merged into the weights.</summary>
    Lora,
}

public enum EsftScore
{
    /// <summary>Average router probability the domain's tokens give the expert.</summary>
    GateScore,
    /// <summary>Share of the domain's top-k selections that go to the expert.</summary>
    TokenSelectionRatio,
}

/// <summary>
/// Settings of one adaptation run. Defaults are the paper's DES-MoE (docs/desmoe.md records each choice the paper
/// leaves open); <see cref="For"/> gives each method's own defaults. Each mechanism can be switched off for ablation.
/// </summary>
public sealed record AdaptationOptions
{
    public AdaptationMethod Method { get; init; } = AdaptationMethod.DesMoe;
    public int Steps { get; init; } = 600;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-3;
    public int WarmupLearningRateSteps { get; init; } = 20;
    public double WeightDecay { get; init; } = 0.0;
    public double GradientClip { get; init; } = 1.0;
    public int Seed { get; init; } = 1;
    public int LogEvery { get; init; } = 50;
    /// <summary>Validation loss on the held-out sets is measured every this many steps (when held-out sets are given).</summary>
    public int ValidateEvery { get; init; } = 25;
    /// <summary>
    /// End the run on the weights of its lowest validation loss (the paper keeps its best checkpoint) rather than its
    /// last; needs held-out sets, and holds one more copy of the weights in memory.
    /// </summary>
    public bool KeepBestValidation { get; init; }
    /// <summary>
    /// When set, the run saves an <see cref="AdaptationCheckpoint"/> here every <see cref="CheckpointEvery"/> steps and,
    /// if the folder already holds one of the same run, continues from it instead of starting over.
    /// </summary>
    public string? CheckpointDirectory { get; init; }
    public int CheckpointEvery { get; init; } = 100;

    // Mechanism 1: adaptive router and its distillation from the pre-trained router.
    /// <summary>DES-MoE: give every router the adaptive residual MLP (<see cref="DesMoe.Torch.Model.AdaptiveRouterResidual"/>).</summary>
    public bool AdaptiveRouter { get; init; } = true;
    /// <summary>The residual's hidden width as a multiple of the model's hidden size (the paper: 4d).</summary>
    public int AdaptiveRouterWidthFactor { get; init; } = 4;
    public bool RouterDistillation { get; init; } = true;
    /// <summary>DES-MoE: the KD temperature tau in KL(softmax(R_orig/tau) || softmax(R_adapt/tau)) (the paper: 0.7).</summary>
    public double DistillationTemperature { get; init; } = 0.7;
    /// <summary>DES-MoE: lambda at step 0, decaying linearly to 0 at the last step; domain-routed: the adaptive weight's start.</summary>
    public double DistillationInitialWeight { get; init; } = 1.0;
    /// <summary>Domain-routed only: the router drift the adaptive (PPO-style) distillation weight aims for.</summary>
    public double DistillationTargetKl { get; init; } = 0.02;

    // Mechanism 2: the expert-domain matrix and gradient masking.
    public bool GradientIsolation { get; init; } = true;
    /// <summary>
    /// DES-MoE: a masked token's gradient also stops at the expert's output, so it does not reach the token's hidden
    /// state through that expert either (the trainer's earlier form). Off by default: Eq. 7 masks only the expert
    /// parameters' gradient.
    /// </summary>
    public bool MaskCutsHiddenState { get; init; }
    /// <summary>DES-MoE: expert e belongs to domain d when A[d, e] >= phi * max_e' A[d, e'] (the paper: 0.6).</summary>
    public double ExpertThreshold { get; init; } = 0.6;
    /// <summary>DES-MoE: A &lt;- m * A_new + (1 - m) * A_old at each refresh (the paper: 0.9).</summary>
    public double MatrixMomentum { get; init; } = 0.9;
    /// <summary>
    /// DES-MoE: T_update, the steps between refreshes of the matrix and the masks (the paper gives no value). 25 steps of
    /// 32 mixed sequences give each of 6 domains about 2,500 tokens (10,000 top-4 selections over 16 experts): the
    /// standard error of a 1/16 share is 0.25 points, far below the gap the 0.6 threshold draws; and stabilization
    /// (half of 600 steps) still sees 12 refreshes to follow the router as it adapts.
    /// </summary>
    public int MatrixRefreshEvery { get; init; } = 25;
    /// <summary>Domain-routed only: per-step EMA rate of the matrix.</summary>
    public double MatrixEmaRate { get; init; } = 0.05;
    /// <summary>Domain-routed only: each domain takes its most-used pool experts up to this share.</summary>
    public double AssignmentTopP { get; init; } = 0.5;
    public double AssignmentMinSpecificity { get; init; } = 1.0;
    /// <summary>Domain-routed only: steps between reassignments.</summary>
    public int ReassignEvery { get; init; } = 50;

    /// <summary>Domain-routed only: routed experts per layer the domains may adapt, chosen by least removal cost on the general reference.</summary>
    public int AdaptableExperts { get; init; } = 8;
    /// <summary>Domain-routed only: general reference examples on which each expert's removal cost is measured.</summary>
    public int RemovalCostExamples { get; init; } = 128;

    // Mechanism 3: three-phase schedule (fractions of Steps; the paper: T1 = 0.2T, T2 = 0.7T).
    public bool ProgressiveSchedule { get; init; } = true;
    public double WarmupFraction { get; init; } = 0.2;
    public double StabilizationFraction { get; init; } = 0.5;
    /// <summary>
    /// DES-MoE: routed experts also train in warm-up (the paper's figure), from every token, unmasked. Off by default:
    /// its text freezes them (router and backbone only), and docs/desmoe.md has both measured.
    /// </summary>
    public bool WarmupTrainsExperts { get; init; }
    /// <summary>
    /// DES-MoE: the backbone (embeddings, attention, norms, LM head, shared experts) trains in warm-up, as the paper
    /// says. Off: a diagnostic that shows how much of the forgetting Stage I's backbone training causes.
    /// </summary>
    public bool WarmupTrainsBackbone { get; init; } = true;
    /// <summary>
    /// When set, warm-up and stabilization also end early once the recomputed assignment moves by at most this
    /// fraction of memberships between checks; the fractions above are then upper limits.
    /// </summary>
    public double? PhaseStabilityThreshold { get; init; }

    /// <summary>Shared experts train after warm-up too (DeepSeekMoE's shared experts hold common knowledge; frozen by default).</summary>
    public bool TrainSharedExperts { get; init; }

    // ESFT.
    public EsftScore EsftScore { get; init; } = EsftScore.TokenSelectionRatio;
    public double EsftTopP { get; init; } = 0.2;
    public int EsftRelevanceExamples { get; init; } = 256;
    /// <summary>
    /// ESFT with DES-MoE's adaptive router (the paper's Table 3 row "ESFT mixed + ALR"): the routers gain the residual
    /// MLP and train beside the selected experts, distilled from the pre-trained routers with DES-MoE's linear lambda.
    /// </summary>
    public bool EsftAdaptiveRouter { get; init; }

    // LoRA.
    public int LoraRank { get; init; } = 8;
    public double LoraAlpha { get; init; } = 16;

    /// <summary>The defaults of <paramref name="method"/>: the paper's for DES-MoE, those docs/desmoe.md measured for the domain-routed variant.</summary>
    public static AdaptationOptions For(AdaptationMethod method) => method switch
    {
        AdaptationMethod.DomainRouted => new AdaptationOptions { Method = method, WarmupFraction = 0.15, StabilizationFraction = 0.35 },
        _ => new AdaptationOptions { Method = method },
    };

    /// <summary>The domain-routed variant: the run chooses an adaptable pool and trains under domain routing.</summary>
    public bool UsesDomainRouting => Method == AdaptationMethod.DomainRouted;

    /// <summary>ESFT with the router borrowed from DES-MoE (<see cref="EsftAdaptiveRouter"/>).</summary>
    private bool EsftBorrowsRouter => Method == AdaptationMethod.Esft && EsftAdaptiveRouter;

    /// <summary>The paper's DES-MoE with its adaptive router on, or ESFT with the router borrowed from it.</summary>
    public bool UsesAdaptiveRouter => (Method == AdaptationMethod.DesMoe && AdaptiveRouter) || EsftBorrowsRouter;

    /// <summary>The router trains under DES-MoE's distillation: lambda * KD + (1 - lambda) * task, lambda falling linearly to 0.</summary>
    public bool DistilsRouterLinearly => Method == AdaptationMethod.DesMoe || EsftBorrowsRouter;

    public AdaptationOptions Validate()
    {
        var problems = new List<string>();
        if (Steps <= 0) problems.Add($"steps must be positive (got {Steps})");
        if (BatchSize <= 0) problems.Add($"batch size must be positive (got {BatchSize})");
        if (LearningRate <= 0) problems.Add($"learning rate must be positive (got {LearningRate})");
        if (MatrixEmaRate is <= 0 or > 1) problems.Add($"matrix EMA rate must be in (0, 1] (got {MatrixEmaRate})");
        if (MatrixMomentum is <= 0 or > 1) problems.Add($"matrix momentum must be in (0, 1] (got {MatrixMomentum})");
        if (ExpertThreshold is <= 0 or > 1) problems.Add($"expert threshold phi must be in (0, 1] (got {ExpertThreshold})");
        if (DistillationTemperature <= 0) problems.Add($"distillation temperature must be positive (got {DistillationTemperature})");
        if (DistillationInitialWeight is < 0 or > 1 && Method == AdaptationMethod.DesMoe)
            problems.Add($"the distillation weight lambda mixes KD and task loss, so it must be in [0, 1] (got {DistillationInitialWeight})");
        if (AdaptiveRouterWidthFactor <= 0) problems.Add($"adaptive router width factor must be positive (got {AdaptiveRouterWidthFactor})");
        if (MatrixRefreshEvery <= 0) problems.Add($"matrix refresh interval must be positive (got {MatrixRefreshEvery})");
        if (AssignmentTopP is <= 0 or > 1) problems.Add($"assignment top-p must be in (0, 1] (got {AssignmentTopP})");
        if (EsftTopP is <= 0 or > 1) problems.Add($"ESFT top-p must be in (0, 1] (got {EsftTopP})");
        if (PhaseStabilityThreshold is < 0 or > 1) problems.Add($"phase stability threshold must be in [0, 1] (got {PhaseStabilityThreshold})");
        if (AdaptableExperts <= 0) problems.Add($"adaptable experts must be positive (got {AdaptableExperts})");
        if (RemovalCostExamples <= 0) problems.Add($"removal cost examples must be positive (got {RemovalCostExamples})");
        if (UsesDomainRouting && !GradientIsolation)
            problems.Add("domain-routed training isolates the domains by routing; it cannot run without gradient isolation (use --method DesMoe for that ablation)");
        if (UsesDomainRouting && TrainSharedExperts)
            problems.Add("domain-routed training keeps the shared experts frozen: they also serve the no-domain path");
        if (UsesDomainRouting && WeightDecay > 0)
            problems.Add($"domain-routed training needs weight decay 0 (got {WeightDecay}): decay would move the router rows it keeps frozen");
        if (LoraRank <= 0) problems.Add($"LoRA rank must be positive (got {LoraRank})");
        if (Method == AdaptationMethod.Lora && CheckpointDirectory is not null)
            problems.Add("LoRA runs do not checkpoint (their factors are not part of the saved state); drop the checkpoint folder");
        if (CheckpointEvery <= 0) problems.Add($"checkpoint interval must be positive (got {CheckpointEvery})");
        if (ReassignEvery <= 0) problems.Add($"reassign interval must be positive (got {ReassignEvery})");
        if (WarmupFraction < 0 || StabilizationFraction < 0 || WarmupFraction + StabilizationFraction > 1)
            problems.Add($"phase fractions must be non-negative and sum to at most 1 (warm-up {WarmupFraction}, stabilization {StabilizationFraction})");
        if (problems.Count > 0) throw new ArgumentException("invalid adaptation options: " + string.Join("; ", problems));
        return this;
    }
}
