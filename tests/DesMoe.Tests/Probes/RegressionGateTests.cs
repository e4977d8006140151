using DesMoe.Worker;
using Xunit;

namespace DesMoe.Tests.Probes;

public class RegressionGateTests
{
    private static readonly Dictionary<string, ProtectedScore> Before = new()
    {
        ["general/text:gcide"] = new(0.536, 100, Text: true),
        ["law"] = new(0.40, 50),
    };

    private static Dictionary<string, ProtectedScore> After(double gcide, double law) => new()
    {
        ["general/text:gcide"] = new(gcide, 100, Text: true),
        ["law"] = new(law, 50),
    };

    [Fact]
    public void Drops_within_each_metrics_limit_pass()
    {
        var verdict = RegressionGate.Judge(Before, After(gcide: 0.523, law: 0.31), "intent", (0.45, 40), maxAllowedDrop: 0.10, maxAllowedTextDrop: 0.05);

        Assert.True(verdict.Passed);
        Assert.Empty(verdict.Reasons!);
        Assert.Equal(0.05, verdict.MaxAllowedTextDrop);
        Assert.Equal(["general/text:gcide", "law", "intent"], verdict.Scores.Select(s => s.Name));
        Assert.Null(verdict.Scores[^1].Before);
    }

    [Fact]
    public void A_text_probe_is_held_to_the_text_limit_not_the_exact_match_one()
    {
        var verdict = RegressionGate.Judge(Before, After(gcide: 0.466, law: 0.40), "intent", (0.45, 40), maxAllowedDrop: 0.10, maxAllowedTextDrop: 0.05);

        Assert.False(verdict.Passed);
        Assert.Equal(["general/text:gcide 53.6% -> 46.6% (more than 5.0% lost)"], verdict.Reasons!.Select(r => r.Replace(" %", "%")));
    }

    [Fact]
    public void An_earlier_domain_that_loses_more_than_allowed_is_named()
    {
        var verdict = RegressionGate.Judge(Before, After(gcide: 0.536, law: 0.29), "intent", (0.45, 40), maxAllowedDrop: 0.10, maxAllowedTextDrop: 0.05);

        Assert.False(verdict.Passed);
        Assert.Equal(["law 40.0% -> 29.0% (more than 10.0% lost)"], verdict.Reasons!.Select(r => r.Replace(" %", "%")));
    }

    [Fact]
    public void Without_text_probes_no_text_limit_is_recorded()
    {
        var before = new Dictionary<string, ProtectedScore> { ["general"] = new(0.05, 300) };

        var verdict = RegressionGate.Judge(before, before, "intent", (1.0, 40), maxAllowedDrop: 0.10, maxAllowedTextDrop: 0.05);

        Assert.True(verdict.Passed);
        Assert.Null(verdict.MaxAllowedTextDrop);
    }

    [Fact]
    public void A_score_missing_after_the_job_is_an_error_that_names_it()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            RegressionGate.Judge(Before, new Dictionary<string, ProtectedScore> { ["law"] = new(0.4, 50) }, "intent", (0.4, 40), 0.10, 0.05));
        Assert.Contains("general/text:gcide", error.Message);
    }
}
