using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Onnx;

namespace DesMoe.Bench.Commands;

/// <summary>
/// What quantizing the routed experts costs in exact-match accuracy, measured on what is served: each exported graph
/// greedy-decodes on ONNX Runtime (int8 compute's activation rounding included), on the general set without a label
/// and on each built-in domain the export serves, with its label. The first export is the baseline of the change column.
/// </summary>
internal static class QuantizationQuality
{
    public static void Print(IReadOnlyList<(string Name, string Folder)> exports, int examples)
    {
        var general = new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(examples));
        Console.WriteLine($"\n{"export",-44} {"set",-14} {"accuracy",9} {"change",8}");
        Dictionary<string, double>? baseline = null;
        foreach (var (name, folder) in exports)
        {
            using var decoder = OnnxDecoder.Load(folder, new OnnxSessionSettings { Provider = ExecutionProviderPreference.Cpu });
            var domains = decoder.Info.Domains;
            var sets = domains.Where(d => DomainCatalog.Domains.Any(c => c.Domain == d))
                .Select(d => new EvaluationSet(d, DatasetSplit.Create(DomainCatalog.Get(d), 0, examples, seed: 7).Eval))
                .Prepend(general).ToList();
            var scores = sets.ToDictionary(s => s.Name, s => OnnxExactMatch.Evaluate(decoder, decoder.Info.Tokenizer, s.Examples,
                domainId: s == general ? ExpertAssignment.NoDomain : domains.ToList().IndexOf(s.Name), metric: s.Metric).Accuracy);
            baseline ??= scores;
            foreach (var (set, accuracy) in scores)
                Console.WriteLine($"{name,-44} {set,-14} {accuracy,9:P1} {100 * (accuracy - baseline[set]),7:+0.0;-0.0;0.0}");
        }
    }
}
