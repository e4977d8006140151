using DesMoe.Trainer.RealData;
using Xunit;

namespace DesMoe.Tests.Data;

public sealed class VariableTracingTests
{
    /// <summary>Runs a program of <c>x=digit;</c> and <c>x=y;</c> statements and returns what its <c>print</c> shows.</summary>
    private static string Run(string program)
    {
        var values = new Dictionary<string, string>();
        var statements = program.Split(';');
        foreach (var statement in statements[..^1])
        {
            var (target, source) = (statement.Split('=')[0], statement.Split('=')[1]);
            values[target] = char.IsDigit(source[0]) ? source : values[source];
        }
        return values[statements[^1]["print(".Length..^1]];
    }

    [Fact]
    public void Every_answer_is_what_the_program_prints_and_no_program_repeats()
    {
        var examples = VariableTracing.All(2000, seed: 4);
        Assert.Equal(2000, examples.Count);
        Assert.Equal(examples.Count, examples.Select(e => e.Prompt).Distinct().Count());
        Assert.All(examples, e => Assert.Equal(Run(e.Prompt), e.Completion));
        // Copies and reassignments, not only constants: the answer is often not the last constant written.
        Assert.Contains(examples, e => e.Prompt.Contains("=a;") || e.Prompt.Contains("=b;"));
        Assert.Equal(examples.Select(e => e.Prompt), VariableTracing.All(2000, seed: 4).Select(e => e.Prompt));
    }
}
