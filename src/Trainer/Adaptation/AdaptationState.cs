using System.Diagnostics;
using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Trainer.Optimization;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// Everything one <see cref="AdaptationTrainer.Run"/> changes as it goes: where the schedule stands, the matrix and
/// masks, the trainable set and its optimizer, the curves. The trainer's named steps read and move it; a checkpoint
/// is a snapshot of it.
/// </summary>
internal sealed class AdaptationState(IReadOnlyList<string> domains, IReadOnlyList<IReadOnlyList<Example>> domainSets, int seed) : IDisposable
{
    public IReadOnlyList<string> Domains { get; } = domains;
    public IReadOnlyList<IReadOnlyList<Example>> DomainSets { get; } = domainSets;
    public IReadOnlyList<int> DomainIds { get; } = Enumerable.Range(0, domains.Count).ToList();
    public Random Random { get; } = new(seed);
    public required IReadOnlyList<RoledParameter> Parameters { get; init; }

    // Schedule.
    public required PhaseTracker Phases { get; init; }
    public required LearningRateSchedule LearningRate { get; init; }
    public TrainingPhase? Phase { get; set; }
    public TrainingPhase? LastPhase { get; set; }
    public int PhaseStart { get; set; }

    // Expert-domain matrix, masks and routing.
    public SpecificityMatrix? Matrix { get; init; }
    public ExpertUsageWindow? UsageWindow { get; init; }
    public ExpertAssignment? Assignment { get; private set; }
    public AdaptablePool? Pool { get; init; }
    public GradientIsolation? Isolation { get; private set; }
    public DomainRouting? Routing { get; private set; }

    // Router distillation.
    public required DisposableTensors ReferenceRouters { get; init; }
    public required AdaptiveDistillationWeight AdaptiveWeight { get; init; }
    public required LinearDistillationWeight LinearWeight { get; init; }
    public double DistillationWeight { get; set; }

    // Trainable set and the run's one optimizer (created with the first trainable set).
    public AdamW? Optimizer { get; set; }
    /// <summary>LoRA's factors over the trainable matrices; null for every other method.</summary>
    public LowRankAdapters? Lora { get; set; }
    public List<RoledParameter> Trainable { get; set; } = [];
    public string TrainableKey { get; set; } = "";
    public (TrainingPhase? Phase, ExpertAssignment? Assignment)? TrainableFor { get; set; }
    public long TrainableCount { get; set; }
    public bool RouterTrains => Trainable.Any(p => p.Role == ParameterRole.Router);

    // Curves and clock.
    public List<(int Step, double Loss)> Curve { get; } = [];
    public List<(int Step, double Loss, double Seconds)> Validation { get; } = [];
    public BestValidationSnapshot Best { get; } = new();
    public ProgressWindow Window { get; } = new(domains);
    public Stopwatch Clock { get; } = Stopwatch.StartNew();
    public TimeSpan ElapsedBefore { get; set; }
    public TimeSpan Elapsed => ElapsedBefore + Clock.Elapsed;

    // Resume.
    public int FirstStep { get; set; }
    public AdaptationCheckpoint? Resume { get; init; }

    /// <summary>
    /// Installs a new domain -> experts map: per-token gradient masks for DES-MoE, or the routing table when the run
    /// trains under domain routing (where routing isolates the domains by construction).
    /// </summary>
    /// <param name="masks">false for ESFT, whose selection only decides what trains</param>
    /// <param name="cutsHiddenState">see <see cref="AdaptationOptions.MaskCutsHiddenState"/></param>
    public void SetAssignment(ExpertAssignment assignment, int topK, bool masks = true, bool cutsHiddenState = false)
    {
        Assignment = assignment;
        Isolation?.Dispose();
        Routing?.Dispose();
        Isolation = null;
        Routing = null;
        if (!masks) return;
        if (Pool is null) Isolation = new GradientIsolation(assignment, cutsHiddenState);
        else Routing = DomainRouting.For(assignment, topK, NoDomainRouting.UnassignedExperts);
    }

    public void Dispose()
    {
        Optimizer?.Dispose();
        Best.Dispose();
        Lora?.Dispose();
        Isolation?.Dispose();
        Routing?.Dispose();
        Pool?.Dispose();
        ReferenceRouters.Dispose();
    }
}
