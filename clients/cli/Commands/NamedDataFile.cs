using DesMoe.Formats.Data;

namespace DesMoe.Cli.Commands;

/// <summary>
/// A <c>name=file.jsonl</c> argument: a domain of the user's own data, with a tenth of it held out for evaluation; or
/// <c>name=train.jsonl,eval.jsonl</c> with its own held-out file (what <c>desmoe data prepare</c> writes).
/// </summary>
internal static class NamedDataFile
{
    public static (string Name, IReadOnlyList<Example> Train, IReadOnlyList<Example> HeldOut) Read(string spec, string option)
    {
        var parts = spec.Split('=', 2);
        if (parts.Length != 2 || parts[0].Length == 0) throw new ArgumentException($"{option} expects name=file.jsonl or name=train.jsonl,eval.jsonl, got '{spec}'");
        var files = parts[1].Split(',');
        if (files.Length == 2) return (parts[0], Jsonl.Read(files[0]), Jsonl.Read(files[1]));
        if (files.Length > 2) throw new ArgumentException($"{option} '{spec}' names {files.Length} files; give one (a tenth held out) or two (train,eval)");
        var examples = Jsonl.Read(parts[1]);
        int held = Math.Max(1, examples.Count / 10);
        return (parts[0], examples.Skip(held).ToList(), examples.Take(held).ToList());
    }
}
