namespace DesMoe.Bench.Domains;

/// <summary>The sequence's figures as the markdown tables docs/online-adaptation.md keeps.</summary>
public static class DomainSequenceReport
{
    public static void Print(DomainSequenceResult result, TextWriter output)
    {
        output.WriteLine($"\n{result.Model}, {result.Steps} steps per domain\n");
        output.WriteLine("| # | domain | source | exact match when added | after all | first form, alone | trained parameters (fp32 MB) | wall s | earlier paths bit-identical |");
        output.WriteLine("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var (a, i) in result.Additions.Select((a, i) => (a, i + 1)))
            output.WriteLine($"| {i} | {a.Name} | {a.Source} | {a.Accuracy:P1} | {result.FinalAccuracy[a.Name]:P1} | {(a.BaselineAccuracy is { } b ? b.ToString("P1") : "-")} | " +
                             $"{a.TrainedParameters:N0} ({a.TrainedParameters * 4 / 1e6:F2}) | {a.WallSeconds:F0} | {a.PathsChecked - a.PathsChanged} of {a.PathsChecked} |");

        if (result.Exports.Count > 0) PrintExports(result.Exports, output);
    }

    public static void PrintExports(IReadOnlyList<ExportPoint> exports, TextWriter output)
    {
        output.WriteLine("\n| domains | kernel | ONNX folder MB | session resident MB | decode tok/s, batch 1: no domain / newest | batch 8: no domain / newest |");
        output.WriteLine("| ---: | --- | ---: | ---: | --- | --- |");
        foreach (var point in exports)
        {
            string Speed(int batch) => string.Join(" / ", point.Latency.Where(l => l.Batch == batch).Select(l => l.DecodeTokensPerSecond.ToString("F0")));
            output.WriteLine($"| {point.Domains} | {point.Kernel} | {point.FolderBytes / 1e6:F1} | {point.SessionBytes / 1e6:F0} | {Speed(1)} | {Speed(8)} |");
        }
    }
}
