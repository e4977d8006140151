using DesMoe.Formats.Data;
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
}
