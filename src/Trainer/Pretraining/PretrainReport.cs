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

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}
