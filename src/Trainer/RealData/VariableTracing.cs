using DesMoe.Formats.Data;
using System.Text;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Code as data-flow tracing: straight-line programs of constant assignments, copies and reassignments over a few
/// variables, asking what the last line prints (<c>a=7;b=a;a=2;print(b)</c> -> <c>7</c>). Reading which value a
/// variable holds after reassignments is the skill; the generated <c>code</c> domain of the string-skills model also
/// adds, and base-v2 learned that only from 13.5% to 17.0% in the comparison's budget (docs/domains.md).
/// </summary>
public static class VariableTracing
{
    private static readonly string[] Variables = ["a", "b", "c", "d"];

    /// <summary>Distinct programs of 3-5 statements, in a seeded order.</summary>
    public static IReadOnlyList<Example> All(int count, int seed)
    {
        var random = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var examples = new List<Example>(count);
        for (int attempts = 0; examples.Count < count && attempts < count * 20; attempts++)
        {
            var example = Next(random);
            if (seen.Add(example.Prompt)) examples.Add(example);
        }
        return examples;
    }

    public static Example Next(Random random)
    {
        var values = new Dictionary<string, int>();
        var program = new StringBuilder();
        int statements = random.Next(3, 6);
        for (int i = 0; i < statements; i++)
        {
            var target = Variables[random.Next(Variables.Length)];
            var defined = values.Keys.Where(v => v != target).ToList();
            if (defined.Count == 0 || random.Next(3) == 0)
            {
                int constant = random.Next(10);
                values[target] = constant;
                program.Append($"{target}={constant};");
            }
            else
            {
                var source = defined[random.Next(defined.Count)];
                values[target] = values[source];
                program.Append($"{target}={source};");
            }
        }
        var printed = values.Keys.ElementAt(random.Next(values.Count));
        program.Append($"print({printed})");
        return new Example(program.ToString(), values[printed].ToString());
    }
}
