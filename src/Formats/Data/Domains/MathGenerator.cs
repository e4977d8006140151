namespace DesMoe.Formats.Data.Domains;

/// <summary>Multi-step arithmetic: 3 or 4 single-digit operands joined by + and -, evaluated left to right.</summary>
public sealed class MathGenerator : IExampleGenerator
{
    public string Domain => "math";
    public string Description => "multi-step integer arithmetic (+, -)";

    public Example Next(Random random)
    {
        int operands = random.Next(3, 5);
        int value = random.Next(10);
        var text = new System.Text.StringBuilder().Append(value);
        for (int i = 1; i < operands; i++)
        {
            int operand = random.Next(10);
            bool add = random.Next(2) == 0;
            value += add ? operand : -operand;
            text.Append(add ? '+' : '-').Append(operand);
        }
        return new Example(text.Append('=').ToString(), value.ToString());
    }
}
