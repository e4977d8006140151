using System.Diagnostics;
using DesMoe.Bench.Export;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Onnx;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Evaluation;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Bench.Domains;

/// <summary>One domain added: what it learned, what it cost, and whether every earlier path kept its logits to the bit.</summary>
public sealed record DomainAdded(string Name, string Source, double Accuracy, double? BaselineAccuracy, long TrainedParameters, double WallSeconds,
    int PathsChecked, int PathsChanged)
{
    public bool EarlierPathsIdentical => PathsChanged == 0;
}

/// <summary>An export of the model with <paramref name="Domains"/> domains: its size, the memory a session takes, decode speed.</summary>
public sealed record ExportPoint(int Domains, ExpertKernel Kernel, long FolderBytes, long SessionBytes, IReadOnlyList<LatencyRow> Latency);

public sealed record DomainSequenceResult(string Model, int Steps, IReadOnlyList<DomainAdded> Additions, IReadOnlyDictionary<string, double> FinalAccuracy,
    IReadOnlyList<ExportPoint> Exports);

/// <summary>
/// Adds domains to one model one after another as AddDomain does (<see cref="DomainAddition"/>, copies confined to
/// the domain), and after each checks, by SHA-256 of their logits, that the no-domain path and every earlier domain
/// compute exactly what they computed before. At the given domain counts it saves the version, exports it with each
/// expert kernel and times decoding through ONNX Runtime (no-domain path and the newest domain). With a baseline,
/// each domain is also added alone to the base in the first form (routed as the no-domain path): the domains are
/// isolated, so alone or tenth, a domain's copies train on the same data from the same start.
/// </summary>
public sealed class DomainSequence(string modelFolder, string workFolder, int steps, IReadOnlyCollection<int> measureAt, int repeats, IReadOnlyList<ExpertKernel> kernels)
{
    /// <summary>Prompts per path whose logits are fingerprinted before and after each addition.</summary>
    private const int FingerprintPrompts = 16;

    public event Action<string>? Log;

    /// <param name="timeExports">false saves the versions at the measured counts but neither exports nor times them
    /// (<see cref="TimeSaved"/> does, later, on a quiet machine)</param>
    public DomainSequenceResult Run(IReadOnlyList<SequenceDomain> domains, bool baseline, bool timeExports = true)
    {
        if (Directory.Exists(workFolder)) Directory.Delete(workFolder, recursive: true);
        Directory.CreateDirectory(workFolder);
        using var loaded = ModelFolder.Load(modelFolder);
        var assignment = ExpertAssignment.LoadFrom(loaded.Folder, loaded.Config) ?? ExpertAssignment.Empty(loaded.Config.NumMoeLayers, loaded.Config.NumRoutedExperts);
        var matrix = SpecificityMatrix.LoadFrom(loaded.Folder);
        var general = new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(FingerprintPrompts));

        var added = new List<DomainAdded>();
        var heldOut = new List<EvaluationSet>();
        foreach (var domain in domains)
        {
            var watched = heldOut.Prepend(general).ToList();
            var before = PathFingerprints.Of(loaded.Model, loaded.Tokenizer, assignment, watched, FingerprintPrompts);
            var addition = new DomainAddition(loaded.Model, loaded.Tokenizer, Options());
            var run = addition.Run(assignment, matrix, domain.Name, domain.Train);
            (assignment, matrix) = (run.Assignment, run.Matrix);
            var changes = before.CompareWith(PathFingerprints.Of(loaded.Model, loaded.Tokenizer, assignment, watched, FingerprintPrompts));

            var set = new EvaluationSet(domain.Name, domain.HeldOut);
            heldOut.Add(set);
            double accuracy = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, assignment, NoDomainRouting.AllExperts, [set])[domain.Name].Accuracy;
            double? alone = baseline ? FirstForm(domain) : null;
            added.Add(new DomainAdded(domain.Name, domain.Source, accuracy, alone, run.TrainableParameters, run.WallSeconds, changes.Count, changes.Count(c => !c.BitIdentical)));
            Log?.Invoke($"+ {domain.Name} ({domain.Source}): {accuracy:P1}{(alone is { } a ? $" (first form {a:P1})" : "")}, {run.WallSeconds:F0} s; " +
                        $"earlier paths changed: {changes.Count(c => !c.BitIdentical)} of {changes.Count}");

            if (measureAt.Contains(added.Count))
            {
                var folder = SavedVersion(added.Count);
                ModelFolder.Save(folder, loaded, new Dictionary<string, string>
                {
                    [ExpertAssignment.FileName] = assignment.ToJson(),
                    [SpecificityMatrix.FileName] = matrix!.ToJson(),
                });
            }
        }
        var final = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, assignment, NoDomainRouting.AllExperts, heldOut)
            .ToDictionary(kv => kv.Key, kv => kv.Value.Accuracy);
        return new DomainSequenceResult(modelFolder, steps, added, final, timeExports ? TimeSaved() : []);
    }

    /// <summary>
    /// Exports the versions saved in the work folder (and the base for 0 domains) with each kernel, loads every export,
    /// then times them in interleaved rounds: each round decodes once through every export and path, and each figure
    /// is the median over the rounds. Timed one after another, the figures drifted with the machine (the same export
    /// measured 291 and 1,170 tok/s minutes apart on the 2-core box); interleaved, every export sees the same drift.
    /// </summary>
    public IReadOnlyList<ExportPoint> TimeSaved()
    {
        var loaded = new List<(int Domains, ExpertKernel Kernel, long FolderBytes, long SessionBytes, int? Newest, OnnxDecoder Decoder)>();
        try
        {
            foreach (int count in measureAt.Order())
            {
                var folder = count == 0 ? modelFolder : SavedVersion(count);
                if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder} not found: run domain-sequence with --measure-at {count} first");
                foreach (var kernel in kernels)
                {
                    var output = Path.Combine(workFolder, $"onnx-{count}-{kernel}");
                    var export = ModelExporter.Export(folder, output, new ExportOptions { Experts = kernel });
                    long folderBytes = new DirectoryInfo(output).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
                    long resident = Resident();
                    var decoder = OnnxDecoder.Load(export.ModelPath);
                    loaded.Add((count, kernel, folderBytes, Resident() - resident, count == 0 ? null : count - 1, decoder));
                }
            }
            var figures = loaded.Select(_ => new List<LatencyRow>()).ToList();
            for (int round = 0; round < repeats; round++)
                for (int i = 0; i < loaded.Count; i++)
                    foreach (int batch in new[] { 1, 8 })
                    {
                        figures[i].Add(LatencyBenchmark.Onnx("no domain", loaded[i].Decoder, batch, promptTokens: 32, decodeSteps: 32, repeats: 1));
                        if (loaded[i].Newest is { } id)
                            figures[i].Add(LatencyBenchmark.Onnx("newest domain", loaded[i].Decoder, batch, promptTokens: 32, decodeSteps: 32, repeats: 1, domainId: id));
                    }
            return loaded.Select((point, i) =>
            {
                var latency = figures[i].GroupBy(row => (row.Engine, row.Batch))
                    .Select(g => g.First() with { PrefillMs = LatencyBenchmark.Median(g.Select(r => r.PrefillMs).ToList()), DecodeMsPerStep = LatencyBenchmark.Median(g.Select(r => r.DecodeMsPerStep).ToList()) })
                    .OrderBy(row => row.Batch).ToList();
                Log?.Invoke($"  export at {point.Domains} domains, {point.Kernel}: {point.FolderBytes / 1e6:F1} MB on disk, session +{point.SessionBytes / 1e6:F0} MB resident, " +
                            string.Join(", ", latency.Select(l => $"{l.Engine} batch {l.Batch} {l.DecodeTokensPerSecond:F0} tok/s")));
                return new ExportPoint(point.Domains, point.Kernel, point.FolderBytes, point.SessionBytes, latency);
            }).ToList();
        }
        finally
        {
            foreach (var point in loaded) point.Decoder.Dispose();
        }
    }

    private string SavedVersion(int domains) => Path.Combine(workFolder, $"model-{domains}");

    private DomainAdditionOptions Options(bool confined = true) => new() { Steps = steps, ConfineToCopies = confined, LogEvery = int.MaxValue };

    /// <summary>The domain added alone to the base in the first form: copies, but routed as the no-domain path.</summary>
    private double FirstForm(SequenceDomain domain)
    {
        using var fresh = ModelFolder.Load(modelFolder);
        var start = ExpertAssignment.LoadFrom(fresh.Folder, fresh.Config) ?? ExpertAssignment.Empty(fresh.Config.NumMoeLayers, fresh.Config.NumRoutedExperts);
        var run = new DomainAddition(fresh.Model, fresh.Tokenizer, Options(confined: false)).Run(start, SpecificityMatrix.LoadFrom(fresh.Folder), domain.Name, domain.Train);
        return RoutedEvaluation.Evaluate(fresh.Model, fresh.Tokenizer, run.Assignment, NoDomainRouting.AllExperts, [new EvaluationSet(domain.Name, domain.HeldOut)])[domain.Name].Accuracy;
    }

    /// <summary>The process's resident memory after a full collection, so managed garbage does not count as the session's.</summary>
    private static long Resident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }
}
