using System.Text.Json;
using DesMoe.Formats.Files;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Model;
using DesMoe.Trainer.Optimization;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// Everything an interrupted adaptation run needs to go on exactly where it stopped: the weights, the optimizer's
/// moments, the frozen reference routers, the specificity matrix, the assignment, the adaptable pool, the phase
/// tracker, the distillation weight and the curves so far. The data sampler is not stored: it is replayed to the
/// step (<see cref="DomainBatch.Skip"/>). Written atomically (a crash leaves the previous checkpoint whole).
/// </summary>
public sealed record AdaptationCheckpoint
{
    public const string StateFile = "state.json";
    private const string WeightsFile = "model.safetensors";
    private const string OptimizerFile = "optimizer.safetensors";

    /// <summary>Steps completed.</summary>
    public required int Step { get; init; }
    public required string Method { get; init; }
    public required IReadOnlyList<string> Domains { get; init; }
    public required int TotalSteps { get; init; }
    public required int Seed { get; init; }
    public required int BatchSize { get; init; }
    public required PhaseTrackerState Phases { get; init; }
    public required int PhaseStart { get; init; }
    public TrainingPhase? LastPhase { get; init; }
    public required double DistillationWeight { get; init; }
    /// <summary>The parameters the saved optimizer state belongs to, in optimizer order.</summary>
    public required IReadOnlyList<string> OptimizerParameters { get; init; }
    public string? Matrix { get; init; }
    public string? Assignment { get; init; }
    public int[][]? Pool { get; init; }
    /// <summary>DES-MoE's routing counts since the matrix was last refreshed.</summary>
    public string? UsageWindow { get; init; }
    public required float[][] ReferenceRouters { get; init; }
    public required List<(int Step, double Loss)> LossCurve { get; init; }
    public required List<(int Step, double Loss, double Seconds)> ValidationCurve { get; init; }
    public required double ElapsedSeconds { get; init; }

    private static readonly JsonSerializerOptions Json = new() { IncludeFields = true };

    public void Save(string folder, MoeTransformer model, AdamW optimizer) =>
        AtomicDirectory.Write(folder, staging =>
        {
            Safetensors.SaveStateDict(Path.Combine(staging, WeightsFile), model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().contiguous()));
            optimizer.Save(Path.Combine(staging, OptimizerFile));
            File.WriteAllText(Path.Combine(staging, StateFile), JsonSerializer.Serialize(this, Json));
        });

    /// <summary>The checkpoint in <paramref name="folder"/>, or null when there is none.</summary>
    public static AdaptationCheckpoint? TryLoad(string folder)
    {
        var path = Path.Combine(folder, StateFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<AdaptationCheckpoint>(File.ReadAllText(path), Json)
                   ?? throw new InvalidDataException("empty checkpoint state");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a readable adaptation checkpoint: {e.Message}", e);
        }
    }

    /// <summary>Why this checkpoint cannot continue the run described by the arguments, or null when it can.</summary>
    public string? MismatchWith(AdaptationOptions options, IReadOnlyList<string> domains)
    {
        var problems = new List<string>();
        if (Method != options.Method.ToString()) problems.Add($"method {Method} (this run: {options.Method})");
        if (!Domains.SequenceEqual(domains)) problems.Add($"domains [{string.Join(", ", Domains)}] (this run: [{string.Join(", ", domains)}])");
        if (TotalSteps != options.Steps) problems.Add($"{TotalSteps} steps (this run: {options.Steps})");
        if (Seed != options.Seed) problems.Add($"seed {Seed} (this run: {options.Seed})");
        if (BatchSize != options.BatchSize) problems.Add($"batch size {BatchSize} (this run: {options.BatchSize})");
        return problems.Count == 0 ? null : "the checkpoint belongs to another run: " + string.Join("; ", problems);
    }

    public void LoadWeights(string folder, MoeTransformer model) => ModelFolder.LoadWeights(model, Path.Combine(folder, WeightsFile));

    public static void LoadOptimizer(string folder, AdamW optimizer) => optimizer.Load(Path.Combine(folder, OptimizerFile));

    public static float[][] Snapshot(IEnumerable<Tensor> tensors) => tensors.Select(t => t.detach().flatten().data<float>().ToArray()).ToArray();
}
