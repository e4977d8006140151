using System.Text;

namespace DesMoe.Formats.Data.Domains;

/// <summary>Tracing tiny straight-line programs over variables a, b, c: the answer is what the final print shows.</summary>
public sealed class CodeGenerator : IExampleGenerator
{
    private static readonly string[] Variables = ["a", "b", "c"];

    public string Domain => "code";
    public string Description => "trace the output of a small program";

    public Example Next(Random random)
    {
        var values = new Dictionary<string, int>();
        var program = new StringBuilder();
        int statements = random.Next(2, 5);
        for (int i = 0; i < statements; i++)
        {
            var target = random.Pick(Variables);
            var defined = values.Keys.ToList();
            int kind = defined.Count == 0 ? 0 : random.Next(3);
            switch (kind)
            {
                case 0:
                {
                    int constant = random.Next(10);
                    values[target] = constant;
                    program.Append($"{target}={constant};");
                    break;
                }
                case 1:
                {
                    var source = random.Pick(defined);
                    int constant = random.Next(1, 10);
                    values[target] = values[source] + constant;
                    program.Append($"{target}={source}+{constant};");
                    break;
                }
                default:
                {
                    var source = random.Pick(defined);
                    values[target] = values[source];
                    program.Append($"{target}={source};");
                    break;
                }
            }
        }
        var printed = random.Pick(values.Keys.ToList());
        program.Append($"print({printed})");
        return new Example(program.ToString(), values[printed].ToString());
    }
}
