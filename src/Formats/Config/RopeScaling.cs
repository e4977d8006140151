using System.Text.Json.Serialization;
using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Config;

/// <summary>
/// YaRN rope scaling as <see cref="MoeConfig"/> stores it, spelled like the hub's <c>rope_scaling</c> object so a
/// reader of either file sees the same fields. The frequencies and attention factor come from
/// <see cref="Architectures.Common.RotaryFrequencies.Yarn"/>, the one implementation the reference loader uses too.
/// </summary>
public sealed record RopeScaling
{
    [JsonPropertyName("type")] public string Type { get; init; } = RopeSettings.YarnType;
    [JsonPropertyName("factor")] public double Factor { get; init; } = 1.0;
    [JsonPropertyName("original_max_position_embeddings")] public int OriginalMaxPositions { get; init; }
    [JsonPropertyName("beta_fast")] public double BetaFast { get; init; } = 32;
    [JsonPropertyName("beta_slow")] public double BetaSlow { get; init; } = 1;

    [JsonPropertyName("mscale")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Mscale { get; init; }

    [JsonPropertyName("mscale_all_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MscaleAllDim { get; init; }

    [JsonPropertyName("attention_factor")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? AttentionFactor { get; init; }

    [JsonPropertyName("truncate")] public bool Truncate { get; init; } = true;

    public static RopeScaling FromHub(RopeSettings rope) => rope.Type == RopeSettings.LinearType
        ? new RopeScaling { Type = RopeSettings.LinearType, Factor = rope.Factor }
        : rope.Type == RopeSettings.YarnType
        ? new RopeScaling
        {
            Factor = rope.Factor,
            OriginalMaxPositions = rope.OriginalMaxPositions,
            BetaFast = rope.BetaFast,
            BetaSlow = rope.BetaSlow,
            Mscale = rope.Mscale,
            MscaleAllDim = rope.MscaleAllDim,
            AttentionFactor = rope.AttentionFactor,
            Truncate = rope.Truncate,
        }
        : throw new ArgumentException($"rope type '{rope.Type}' has no scaling to store (supported: {RopeSettings.YarnType}, {RopeSettings.LinearType})", nameof(rope));

    public RopeSettings ToHub(double theta) => new()
    {
        Type = Type,
        Theta = theta,
        Factor = Factor,
        OriginalMaxPositions = OriginalMaxPositions,
        BetaFast = BetaFast,
        BetaSlow = BetaSlow,
        Mscale = Mscale,
        MscaleAllDim = MscaleAllDim,
        AttentionFactor = AttentionFactor,
        Truncate = Truncate,
    };

    internal IEnumerable<string> Problems()
    {
        if (Type is not (RopeSettings.YarnType or RopeSettings.LinearType))
            yield return $"rope_scaling.type '{Type}' is not supported (supported: {RopeSettings.YarnType}, {RopeSettings.LinearType})";
        if (Factor < 1) yield return $"rope_scaling.factor must be at least 1 (got {Factor})";
        if (Type == RopeSettings.YarnType && OriginalMaxPositions <= 0)
            yield return $"rope_scaling.original_max_position_embeddings must be positive (got {OriginalMaxPositions})";
    }
}
