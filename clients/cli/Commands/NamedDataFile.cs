using DesMoe.Core.Data;

namespace DesMoe.Cli.Commands;

/// <summary>A <c>name=file.jsonl</c> argument: a domain of the user's own data, with a tenth of it held out for evaluation.</summary>
internal static class NamedDataFile
{
    public static (string Name, IReadOnlyList<Example> Train, IReadOnlyList<Example> HeldOut) Read(string spec, string option)
    {
        var parts = spec.Split('=', 2);
        if (parts.Length != 2 || parts[0].Length == 0) throw new ArgumentException($"{option} expects name=file.jsonl, got '{spec}'");
        var examples = Jsonl.Read(parts[1]);
        int held = Math.Max(1, examples.Count / 10);
        return (parts[0], examples.Skip(held).ToList(), examples.Take(held).ToList());
    }
}
