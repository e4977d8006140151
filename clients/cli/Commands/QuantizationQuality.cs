using DesMoe.Core.Checkpoints;
using DesMoe.Core.Data;
using DesMoe.Core.Evaluation;
using DesMoe.Core.Model;
using DesMoe.Exporter.Graph;

namespace DesMoe.Cli.Commands;

/// <summary>
/// What quantizing the routed experts costs in exact-match accuracy: the model scored with its experts as the int8 /
/// int4 graph computes them (dequantized blockwise; the export check holds the graph to these within 1e-4), on the
/// general set without a label and on each built-in domain the model serves, with its label.
/// </summary>
internal static class QuantizationQuality
{
    public static void Print(string folder, int examples)
    {
        var general = new EvaluationSet(DomainCatalog.GeneralName, GeneralSet.HeldOut(examples));
        Console.WriteLine($"\n{"experts",-8} {"set",-14} {"accuracy",9} {"change",8}");
        Dictionary<string, double>? baseline = null;
        foreach (var quantization in Enum.GetValues<ExpertQuantization>())
        {
            using var loaded = ModelFolder.Load(folder);
            var assignment = ExpertAssignment.LoadFrom(folder, loaded.Config);
            var sets = (assignment?.Domains ?? []).Where(d => DomainCatalog.Domains.Any(c => c.Domain == d))
                .Select(d => new EvaluationSet(d, DatasetSplit.Create(DomainCatalog.Get(d), 0, examples, seed: 7).Eval))
                .Prepend(general).ToList();
            if (quantization != ExpertQuantization.None) BlockQuantizer.RoundRoutedExperts(loaded.Model, quantization);
            var scores = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, assignment, NoDomainRouting.AllExperts, sets)
                .ToDictionary(kv => kv.Key, kv => kv.Value.Accuracy);
            baseline ??= scores;
            foreach (var (set, accuracy) in scores)
                Console.WriteLine($"{quantization,-8} {set,-14} {accuracy,9:P1} {100 * (accuracy - baseline[set]),7:+0.0;-0.0;0.0}");
        }
    }
}
