using System.Text.RegularExpressions;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Math from SymPy's doctests (<c>python3-sympy</c>): <c>&gt;&gt;&gt; expression</c> followed by its printed result.
/// Kept: one-line expressions with a one-line result, both short; no expression that reads a name the same file
/// assigns in a doctest (<c>&gt;&gt;&gt; e = ...</c>), since its value is not in the prompt; no reprs, errors or
/// randomness; an expression printed two ways in the sources is dropped. Symbols imported from <c>sympy.abc</c>
/// (x, y, z...) are ordinary here.
/// </summary>
public static partial class SympyDoctests
{
    public const string PromptPrefix = "sympy: ";

    [GeneratedRegex(@"^(?<indent>\s*)>>> (?<code>.+)$")]
    private static partial Regex Prompt();

    [GeneratedRegex(@"^\s*>>> (?<name>[A-Za-z_][A-Za-z_0-9]*(?:\s*,\s*[A-Za-z_][A-Za-z_0-9]*)*)\s*=[^=]")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"[A-Za-z_][A-Za-z_0-9]*")]
    private static partial Regex Identifier();

    private static readonly string[] Excluded = ["import ", "print(", "random", "Random", "lambda", " at 0x", "Traceback", "<", ">>>", "...", "#", ";"];

    /// <param name="files">each source file's lines</param>
    public static List<Example> Parse(IEnumerable<IReadOnlyList<string>> files, int maxExpression = 60, int maxResult = 40)
    {
        var results = new Dictionary<string, string?>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var lines in files)
        {
            var assigned = new HashSet<string>(StringComparer.Ordinal);
            foreach (var line in lines)
                if (Assignment().Match(line) is { Success: true } a)
                    foreach (var name in a.Groups["name"].Value.Split(',')) assigned.Add(name.Trim());

            for (int i = 0; i + 1 < lines.Count; i++)
            {
                if (Prompt().Match(lines[i]) is not { Success: true } prompt) continue;
                var code = prompt.Groups["code"].Value.Trim();
                var indent = prompt.Groups["indent"].Value;
                var result = lines[i + 1];
                if (!result.StartsWith(indent, StringComparison.Ordinal)) continue;
                result = result.Trim();
                var after = i + 2 < lines.Count ? lines[i + 2].Trim() : "";
                bool oneLine = after.Length == 0 || after.StartsWith(">>>", StringComparison.Ordinal) || after is "\"\"\"" or "\'\'\'"; // the docstring's end also ends a result
                if (!oneLine || result.Length == 0 || result.StartsWith(">>>", StringComparison.Ordinal) || result == "\"\"\"") continue;
                if (code.Length > maxExpression || result.Length > maxResult || Assignment().IsMatch(lines[i])) continue;
                if (Excluded.Any(x => code.Contains(x, StringComparison.Ordinal) || result.Contains(x, StringComparison.Ordinal))) continue;
                if (Identifier().Matches(code).Any(m => assigned.Contains(m.Value))) continue;
                if (results.TryGetValue(code, out var known)) { if (known != result) results[code] = null; }
                else { results[code] = result; order.Add(code); }
            }
        }
        return order.Where(c => results[c] is not null).Select(c => new Example(PromptPrefix + c, results[c]!)).ToList();
    }

    /// <summary>The lines of every <c>.py</c> file under <paramref name="folder"/>, in path order, tests included.</summary>
    public static IEnumerable<IReadOnlyList<string>> ReadSources(string folder) =>
        Directory.EnumerateFiles(folder, "*.py", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(f => (IReadOnlyList<string>)File.ReadAllLines(f));
}
