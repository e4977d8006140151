using System.Text;
using System.Text.RegularExpressions;
using DesMoe.Formats.Data;
using DesMoe.Formats.Files;

namespace DesMoe.Formats.Probes;

/// <summary>
/// The general probes in a model folder: <c>eval/manifest.json</c> plus one file per probe, general text passages
/// one per line (<c>.txt</c>) and task prompts as prompt/completion JSONL. Pre-training writes them from its held-out
/// data; adaptation's regression gate and domain inference read them, so a model is judged by what it was made to do.
/// </summary>
public static partial class ProbeFolder
{
    public const string FolderName = "eval";

    public static string PathIn(string modelFolder) => Path.Combine(modelFolder, FolderName);

    /// <summary>The folder's probes, or null when it has none (a model folder made before probes existed).</summary>
    public static ProbeSet? Read(string modelFolder)
    {
        var folder = PathIn(modelFolder);
        var manifestPath = Path.Combine(folder, ProbeManifest.FileName);
        if (!File.Exists(manifestPath)) return null;
        var manifest = ProbeManifest.Load(manifestPath);
        var probes = manifest.Probes.Select(entry =>
        {
            var metric = ProbeManifest.ParseMetric(entry.Metric, manifestPath);
            var file = Path.Combine(folder, entry.File);
            if (Path.GetFileName(entry.File) != entry.File) throw new InvalidDataException($"{manifestPath}: probe '{entry.Name}' names file '{entry.File}' outside the folder");
            if (!File.Exists(file)) throw new FileNotFoundException($"{manifestPath}: probe '{entry.Name}' names {entry.File}, which is missing", file);
            var examples = metric == ProbeMetric.NextTokenAccuracy
                ? File.ReadLines(file, Encoding.UTF8).Where(l => l.Length > 0).Select(l => new Example("", l)).ToList()
                : Jsonl.Read(file);
            if (examples.Count != entry.Examples)
                throw new InvalidDataException($"{file} holds {examples.Count} examples; {ProbeManifest.FileName} says {entry.Examples}");
            return new HeldOutProbe(entry.Name, metric, examples, entry.Score);
        }).ToList();
        if (probes.Count == 0) throw new InvalidDataException($"{manifestPath} lists no probes");
        return new ProbeSet(probes, manifest.MadeBy);
    }

    /// <summary>Writes (replaces) <c>eval/</c> in <paramref name="modelFolder"/>, by rename.</summary>
    public static void Write(string modelFolder, ProbeSet set)
    {
        if (set.Probes.Count == 0) throw new ArgumentException("no probes to write", nameof(set));
        var duplicate = set.Probes.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"two probes are named '{duplicate.Key}'", nameof(set));
        AtomicDirectory.Write(PathIn(modelFolder), staging =>
        {
            var entries = set.Probes.Select(probe =>
            {
                if (!ValidName().IsMatch(probe.Name))
                    throw new ArgumentException($"probe name '{probe.Name}' must be lower-case letters, digits, '-', '_' or ':' (at most 64)", nameof(set));
                if (probe.Examples.Count == 0) throw new ArgumentException($"probe '{probe.Name}' has no examples", nameof(set));
                var file = probe.Name.Replace(':', '-') + (probe.Metric == ProbeMetric.NextTokenAccuracy ? ".txt" : ".jsonl");
                var path = Path.Combine(staging, file);
                if (probe.Metric == ProbeMetric.NextTokenAccuracy) WritePassages(path, probe);
                else Jsonl.Write(path, probe.Examples);
                return new ProbeEntry(probe.Name, ProbeManifest.MetricName(probe.Metric), file, probe.Examples.Count, probe.Score);
            }).ToList();
            File.WriteAllText(Path.Combine(staging, ProbeManifest.FileName), new ProbeManifest(ProbeManifest.CurrentFormat, set.MadeBy, entries).ToJson());
        });
    }

    /// <summary>Copies the probes of <paramref name="fromModelFolder"/>, if it has any, into <paramref name="toModelFolder"/>: an adapted model keeps its base's.</summary>
    public static void CopyTo(string fromModelFolder, string toModelFolder)
    {
        var source = PathIn(fromModelFolder);
        if (!File.Exists(Path.Combine(source, ProbeManifest.FileName))) return;
        var target = Directory.CreateDirectory(PathIn(toModelFolder)).FullName;
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
    }

    private static void WritePassages(string path, HeldOutProbe probe)
    {
        foreach (var e in probe.Examples)
        {
            if (e.Prompt.Length > 0) throw new ArgumentException($"text probe '{probe.Name}' has a passage with a prompt ('{e.Prompt}'); passages are completions only");
            if (e.Completion.Length == 0 || e.Completion.Contains('\n') || e.Completion.Contains('\r'))
                throw new ArgumentException($"text probe '{probe.Name}' has an empty or multi-line passage; passages are stored one per line");
        }
        File.WriteAllLines(path, probe.Examples.Select(e => e.Completion), new UTF8Encoding(false));
    }

    [GeneratedRegex("^[a-z0-9_:-]{1,64}$")]
    private static partial Regex ValidName();
}
