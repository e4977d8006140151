using System.Globalization;
using System.Text;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Math as SymPy calls and the results SymPy prints for them, generated and computed exactly here (SymPy itself is
/// not needed at run time): expanding and factoring a product with a common factor (<c>expand(y*(y - 7))</c> ->
/// <c>y**2 - 7*y</c>, <c>factor(y**2 - 7*y)</c> -> <c>y*(y - 7)</c>), and the power rule both ways
/// (<c>diff(x**3 + 5, x)</c> -> <c>3*x**2</c>, <c>integrate(x**2 + 5, x)</c> -> <c>x**3/3 + 5*x</c>). Each result
/// follows from the expression by a rule and at most adding one to a small number, so it is computed, not recalled. Plain
/// arithmetic is left out: one-digit sums and differences stayed at 2% after 200 fine-tuning steps of base-v2
/// (docs/domains.md), so they would only dilute the domain.
/// </summary>
public static class SympyExpressions
{
    public const string PromptPrefix = "sympy: ";

    public enum Kind { Expand, Factor, Diff, Integrate }

    /// <summary>
    /// Many symbols and few numbers: a short fine-tune of base-v2 learned to copy the symbol but not yet to carry a
    /// digit through a rule for powers up to 9 (3% after 40 steps), so powers are 2 to 4 and constants 0 to 3.
    /// </summary>
    private static readonly string[] Variables = ["x", "y", "z", "t", "u", "v", "w", "a", "b", "c"];

    /// <summary>Every distinct expression of every kind (under a thousand), in a fixed order; prompts are unique.</summary>
    public static List<Example> All()
    {
        var examples = new List<Example>();
        foreach (var v in Variables)
        {
            foreach (int shift in Enumerable.Range(-3, 7).Where(s => s != 0))
            {
                var product = $"{v}*({Polynomial([shift, 1], v)})";
                var expanded = Polynomial([0, shift, 1], v);
                examples.Add(Example($"expand({product})", expanded));
                examples.Add(Example($"factor({expanded})", product));
            }
            foreach (int power in Enumerable.Range(2, 3))
                foreach (int constant in Enumerable.Range(0, 4))
                {
                    var integrand = Polynomial([constant, .. Enumerable.Repeat(0, power - 1), 1], v);
                    examples.Add(Example($"diff({integrand}, {v})", Monomial(power, 1, power - 1, v)));
                    var integral = Monomial(1, power + 1, power + 1, v);
                    examples.Add(Example($"integrate({integrand}, {v})", constant == 0 ? integral : $"{integral} + {Monomial(constant, 1, 1, v)}"));
                }
        }
        return examples.GroupBy(e => e.Prompt, StringComparer.Ordinal).Select(g => g.First()).ToList();
    }

    /// <summary>The kind of a prompt <see cref="All"/> made, read back from its text (for per-kind scores).</summary>
    public static Kind KindOf(Example example)
    {
        var expression = example.Prompt[PromptPrefix.Length..];
        return expression switch
        {
            _ when expression.StartsWith("expand(", StringComparison.Ordinal) => Kind.Expand,
            _ when expression.StartsWith("factor(", StringComparison.Ordinal) => Kind.Factor,
            _ when expression.StartsWith("diff(", StringComparison.Ordinal) => Kind.Diff,
            _ when expression.StartsWith("integrate(", StringComparison.Ordinal) => Kind.Integrate,
            _ => throw new ArgumentException($"not a prompt {nameof(All)} makes: {example.Prompt}", nameof(example)),
        };
    }

    private static Example Example(string expression, string result) => new(PromptPrefix + expression, result);

    /// <summary>
    /// A polynomial in <paramref name="variable"/> as SymPy prints it: highest power first, <c>x**2</c> for a square, no coefficient 1, a
    /// leading minus written <c>-x</c>, later signs as <c> + </c> / <c> - </c>, zero terms left out.
    /// </summary>
    /// <param name="coefficients">lowest power first</param>
    public static string Polynomial(IReadOnlyList<int> coefficients, string variable = "x")
    {
        var text = new StringBuilder();
        for (int power = coefficients.Count - 1; power >= 0; power--)
        {
            int c = coefficients[power];
            if (c == 0) continue;
            var magnitude = Math.Abs(c);
            var term = power == 0 ? magnitude.ToString(CultureInfo.InvariantCulture) : $"{(magnitude == 1 ? "" : magnitude + "*")}{variable}{(power > 1 ? "**" + power : "")}";
            if (text.Length == 0) text.Append(c < 0 ? "-" : "").Append(term);
            else text.Append(c < 0 ? " - " : " + ").Append(term);
        }
        return text.Length == 0 ? "0" : text.ToString();
    }

    /// <summary>
    /// <c>numerator/denominator * variable**power</c> as SymPy prints it: reduced, <c>x**3/3</c>, <c>2*x**3/3</c>, <c>3*x**2</c>,
    /// <c>x</c> for power 1 and the bare number for power 0.
    /// </summary>
    public static string Monomial(int numerator, int denominator, int power, string variable = "x")
    {
        if (numerator <= 0 || denominator <= 0 || power < 0)
            throw new ArgumentOutOfRangeException(nameof(numerator), $"{numerator}/{denominator}*x**{power}: positive coefficients and a non-negative power only");
        int gcd = Gcd(numerator, denominator);
        numerator /= gcd;
        denominator /= gcd;
        if (power == 0) return denominator == 1 ? numerator.ToString(CultureInfo.InvariantCulture) : $"{numerator}/{denominator}";
        var x = power == 1 ? variable : $"{variable}**{power}";
        var product = numerator == 1 ? x : $"{numerator}*{x}";
        return denominator == 1 ? product : $"{product}/{denominator}";
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
