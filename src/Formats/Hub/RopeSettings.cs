using System.Text.Json.Nodes;

namespace DesMoe.Formats.Hub;

/// <summary>
/// Rotary-embedding parameters in one shape, whichever way <c>config.json</c> spells them: the hub's
/// <c>rope_scaling</c> object (with <c>type</c> or <c>rope_type</c>) plus a top-level <c>rope_theta</c>, or
/// transformers 5's <c>rope_parameters</c> object that holds <c>rope_theta</c> itself.
/// </summary>
public sealed record RopeSettings
{
    public const string DefaultType = "default";
    public const string YarnType = "yarn";
    public const string LinearType = "linear";

    public string Type { get; init; } = DefaultType;
    public double Theta { get; init; } = 10000.0;

    /// <summary>YaRN's and linear scaling's factor (linear divides every frequency by it).</summary>
    public double Factor { get; init; } = 1.0;

    // YaRN only (see RotaryFrequencies.Yarn for how each is used).
    public int OriginalMaxPositions { get; init; }
    public double BetaFast { get; init; } = 32;
    public double BetaSlow { get; init; } = 1;
    public double? Mscale { get; init; }
    public double? MscaleAllDim { get; init; }
    public double? AttentionFactor { get; init; }
    public bool Truncate { get; init; } = true;

    public static RopeSettings Read(ConfigJson config)
    {
        var parameters = config.OptionalObject("rope_parameters");
        var scaling = config.OptionalObject("rope_scaling");
        // transformers 5 writes rope_parameters (theta inside); hub configs write rope_scaling + rope_theta.
        var source = parameters ?? scaling;
        double theta = ReadDouble(config, parameters, "rope_theta") ?? config.Double("rope_theta", 10000.0);
        if (source is null) return new RopeSettings { Theta = theta };

        string type = ReadString(config, source, "rope_type") ?? ReadString(config, source, "type") ?? DefaultType;
        double partial = ReadDouble(config, source, "partial_rotary_factor") ?? 1.0;
        if (partial != 1.0) throw config.Unsupported("partial_rotary_factor", partial, "1.0");
        switch (type)
        {
            case DefaultType:
                return new RopeSettings { Theta = theta };
            case LinearType:
                return new RopeSettings
                {
                    Type = LinearType,
                    Theta = theta,
                    Factor = ReadDouble(config, source, "factor") ?? throw config.Invalid("rope_scaling.factor", null, "a number (linear scaling needs it)"),
                };
            case YarnType:
                int maxPositions = config.RequiredInt("max_position_embeddings");
                int original = (int?)ReadDouble(config, source, "original_max_position_embeddings") ?? maxPositions;
                return new RopeSettings
                {
                    Type = YarnType,
                    Theta = theta,
                    Factor = ReadDouble(config, source, "factor") ?? (double)maxPositions / original,
                    OriginalMaxPositions = original,
                    BetaFast = ReadDouble(config, source, "beta_fast") ?? 32,
                    BetaSlow = ReadDouble(config, source, "beta_slow") ?? 1,
                    Mscale = ReadDouble(config, source, "mscale"),
                    MscaleAllDim = ReadDouble(config, source, "mscale_all_dim"),
                    AttentionFactor = ReadDouble(config, source, "attention_factor"),
                    Truncate = source["truncate"] is JsonValue t && t.TryGetValue<bool>(out var truncate) ? truncate : true,
                };
            default:
                throw config.Unsupported(parameters is not null ? "rope_parameters.rope_type" : "rope_scaling.type", type, DefaultType, YarnType, LinearType);
        }
    }

    /// <summary>YaRN's magnitude correction <c>0.1 * mscale * ln(scale) + 1</c> (1 when not extending).</summary>
    public static double YarnMscale(double scale, double mscale) => scale <= 1 ? 1.0 : 0.1 * mscale * Math.Log(scale) + 1.0;

    private static double? ReadDouble(ConfigJson config, JsonObject? source, string field) => source?[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        var other => throw config.Invalid(field, other, "a number"),
    };

    private static string? ReadString(ConfigJson config, JsonObject source, string field) => source[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        var other => throw config.Invalid(field, other, "a string"),
    };
}
