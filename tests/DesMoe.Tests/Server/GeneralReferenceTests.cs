using DesMoe.Formats.Data;
using DesMoe.Formats.Probes;
using DesMoe.Server.DomainInference;
using Xunit;

namespace DesMoe.Tests.Server;

public class GeneralReferenceTests
{
    private static IEnumerable<string> FormatPrompts(string format, int count) =>
        DatasetSplit.Generate(DomainCatalog.Get(format), count, GeneralReference.Seed).Select(e => e.Prompt);

    [Fact]
    public void General_text_is_the_general_set_and_every_built_in_format_the_version_does_not_serve()
    {
        var prompts = GeneralReference.Prompts(["intent", "math"], 8);

        var expected = GeneralSet.HeldOut(8).Select(e => e.Prompt)
            .Concat(new[] { "code", "law", "translation", "summarization" }.SelectMany(f => FormatPrompts(f, 2)));
        Assert.Equal(expected, prompts);
        Assert.DoesNotContain(prompts, p => FormatPrompts("intent", 2).Contains(p) || FormatPrompts("math", 2).Contains(p));
    }

    [Fact]
    public void With_every_format_served_only_the_general_set_is_left()
    {
        var all = DomainCatalog.Domains.Select(d => d.Domain).ToList();
        Assert.Equal(GeneralSet.HeldOut(12).Select(e => e.Prompt), GeneralReference.Prompts(all, 12));
    }

    [Fact]
    public void For_a_model_with_probes_general_text_is_its_passages_and_task_prompts_instead_of_the_general_set()
    {
        var probes = new ProbeSet(
        [
            new HeldOutProbe("text:sotu", ProbeMetric.NextTokenAccuracy, Enumerable.Range(0, 30).Select(i => new Example("", $"passage {i}")).ToList()),
            new HeldOutProbe("skills", ProbeMetric.ExactMatch, Enumerable.Range(0, 30).Select(i => new Example($"reverse {i}", "x")).ToList()),
        ], "test");

        var prompts = GeneralReference.Prompts(["intent", "math"], 8, probes);

        var expected = Enumerable.Range(0, 4).Select(i => $"passage {i}").Concat(Enumerable.Range(0, 4).Select(i => $"reverse {i}"))
            .Concat(new[] { "code", "law", "translation", "summarization" }.SelectMany(f => FormatPrompts(f, 2)));
        Assert.Equal(expected, prompts);
    }
}
