using System.Text;
using System.Text.Json;
using DesMoe.Formats.Files;

namespace DesMoe.Formats.Data;

/// <summary>Reads and writes example sets as JSON Lines, the format users bring their own data in.</summary>
public static class Jsonl
{
    private const int MaxReportedProblems = 10;

    /// <summary>
    /// Reads every example; blank lines are skipped. Throws <see cref="DataFormatException"/> listing the
    /// first problems as <c>file:line: reason</c> when any line is malformed, and when the file holds no example.
    /// </summary>
    public static List<Example> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"data file not found: {path}", path);
        var examples = new List<Example>();
        var problems = new List<string>();
        int problemCount = 0, lineNumber = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var problem = TryParse(line, out var example);
            if (problem is null)
            {
                examples.Add(example!);
                continue;
            }
            problemCount++;
            if (problems.Count < MaxReportedProblems) problems.Add($"{path}:{lineNumber}: {problem}");
        }
        if (problemCount > 0)
        {
            var more = problemCount > problems.Count ? $"\n(and {problemCount - problems.Count} more bad lines)" : "";
            throw new DataFormatException($"{problemCount} bad line(s) in {path}:\n" + string.Join("\n", problems) + more);
        }
        if (examples.Count == 0) throw new DataFormatException($"{path}: no examples (the file is empty)");
        return examples;
    }

    private static string? TryParse(string line, out Example? example)
    {
        example = null;
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(line);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return $"not valid JSON ({e.Message})";
        }
        if (root.ValueKind != JsonValueKind.Object) return "expected a JSON object with \"prompt\" and \"completion\"";
        string? Field(string name, out string? error)
        {
            error = null;
            if (!root.TryGetProperty(name, out var value)) { error = $"missing \"{name}\""; return null; }
            if (value.ValueKind != JsonValueKind.String) { error = $"\"{name}\" must be a string"; return null; }
            var text = value.GetString()!;
            if (text.Length == 0) { error = $"\"{name}\" is empty"; return null; }
            return text;
        }
        var prompt = Field("prompt", out var promptError);
        if (promptError is not null) return promptError;
        var completion = Field("completion", out var completionError);
        if (completionError is not null) return completionError;
        example = new Example(prompt!, completion!);
        return null;
    }

    /// <summary>
    /// Non-ASCII text and characters such as + and ' stay as written (the default encoder would turn them into \uXXXX);
    /// JSON's own escapes (quotes, backslashes, control characters) still apply, so every line parses as before.
    /// </summary>
    private static readonly JsonSerializerOptions WriteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes atomically: a temporary file renamed over <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<Example> examples) => AtomicFile.Write(path, temp =>
    {
        using var writer = new StreamWriter(temp, false, new UTF8Encoding(false));
        foreach (var example in examples) writer.WriteLine(JsonSerializer.Serialize(example, WriteOptions));
    });
}
