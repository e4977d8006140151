using System.Text.Json;
using System.Text.Json.Nodes;
using DesMoe.Trainer.Comparison.Paper;

namespace DesMoe.Trainer.Comparison.Reporting;

/// <summary>
/// <c>results.json</c> beside the report, for scripts and later comparisons: the untuned scores and one object per
/// row (per method, setting, rate, seed and domain set), scores in percent.
/// </summary>
public static class ResultsJson
{
    public static string Write(IReadOnlyList<PaperRow> rows, PaperOptions options, double basePeakRate, string command, string machine, TimeSpan elapsed)
    {
        var untuned = rows.Single(r => r.Setting == PaperSetting.Untuned);
        var root = new JsonObject
        {
            ["command"] = command,
            ["machine"] = machine,
            ["wall_minutes"] = Math.Round(elapsed.TotalMinutes, 2),
            ["base_peak_learning_rate"] = basePeakRate,
            ["relative_rates"] = new JsonArray(options.RelativeRates.Select(r => (JsonNode)r).ToArray()),
            ["steps_per_domain"] = options.StepsPerDomain,
            ["batch_size"] = options.BatchSize,
            ["held_out_examples"] = options.HeldOutExamples,
            ["untuned"] = new JsonObject
            {
                ["downstream"] = Scores(untuned.DomainScores),
                ["downstream_average"] = Percent(untuned.DomainAverage),
                ["general"] = Scores(untuned.General.Scores),
                ["general_average"] = Percent(untuned.General.Average),
            },
            ["rows"] = new JsonArray(rows.Where(r => r.Setting != PaperSetting.Untuned).Select(Row).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonNode Row(PaperRow r) => new JsonObject
    {
        ["method"] = r.Method,
        ["setting"] = r.Setting == PaperSetting.PerDomain ? "per-domain" : "mixed",
        ["domains"] = new JsonArray(r.Domains.Select(d => (JsonNode)d).ToArray()),
        ["learning_rate"] = r.LearningRate,
        ["relative_rate"] = r.RelativeRate,
        ["tuned"] = r.Tuned,
        ["labelled"] = r.Labelled,
        ["seed"] = r.Seed,
        ["steps"] = r.Steps,
        // A mixed row has one model; a per-domain row one per domain.
        ["best_step"] = r.Setting == PaperSetting.Mixed
            ? r.BestSteps.Values.Single()
            : new JsonObject(r.BestSteps.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["best_step_is_last"] = r.BestIsLast,
        ["wall_seconds"] = Math.Round(r.WallSeconds, 1),
        ["downstream"] = Scores(r.DomainScores),
        ["downstream_average"] = Percent(r.DomainAverage),
        ["general"] = Scores(r.General.Scores),
        ["general_average"] = Percent(r.General.Average),
    };

    private static JsonObject Scores(IReadOnlyDictionary<string, double> scores) =>
        new(scores.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Percent(kv.Value))));

    private static double Percent(double value) => Math.Round(100 * value, 2);
}
