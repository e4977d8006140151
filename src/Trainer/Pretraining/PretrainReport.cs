using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.Trainer.Pretraining;

/// <summary>What a pre-training run did; saved as <c>training.json</c> in the model folder.</summary>
public sealed record PretrainReport(
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("train_examples")] int TrainExamples,
    [property: JsonPropertyName("final_loss")] double FinalLoss,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds,
    [property: JsonPropertyName("tokens_per_second")] double TokensPerSecond,
    [property: JsonPropertyName("general_accuracy")] double GeneralAccuracy,
    [property: JsonPropertyName("eval_examples")] int EvalExamples,
    [property: JsonPropertyName("threads")] int Threads)
{
    public const string FileName = "training.json";

    /// <summary>Input tokens over all steps (prompt, completion and control tokens; padding excluded).</summary>
    [JsonPropertyName("tokens_seen")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long TokensSeen { get; init; }

    /// <summary>The peak learning rate of pre-training: adaptation rates are stated relative to it (the paper's grid is 0.024x-0.71x its base's).</summary>
    [JsonPropertyName("learning_rate")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double LearningRate { get; init; }

    /// <summary>Each source's held-out score, for a mixture of more than one source.</summary>
    [JsonPropertyName("sources")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<SourceResult>? Sources { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>The report a model folder holds, or null when it has none (a hub checkpoint, a random model).</summary>
    public static PretrainReport? LoadFrom(string modelFolder)
    {
        var path = Path.Combine(modelFolder, FileName);
        return File.Exists(path) ? JsonSerializer.Deserialize<PretrainReport>(File.ReadAllText(path)) : null;
    }
}

/// <param name="Metric">"loss" (mean nats per target token on the held-out set) or "exact_match" (fraction of held-out completions)</param>
public sealed record SourceResult(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("examples")] int Examples);
