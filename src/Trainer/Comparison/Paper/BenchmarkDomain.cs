using DesMoe.Formats.Data;
using DesMoe.Formats.Evaluation;

namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>A domain of the comparison: its training and held-out data and how its answers are scored.</summary>
public sealed record BenchmarkDomain(string Name, IReadOnlyList<Example> Train, IReadOnlyList<Example> Eval, TaskMetric Metric)
{
    /// <summary>The paper's six kinds of task, in this order: the five real-data domains `desmoe data prepare` writes, then generated code.</summary>
    public static readonly string[] PaperOrder = ["math", "law", "translation", "summarisation", "medicine", "code"];

    /// <summary>The domains made by a generator rather than read from the prepared folder.</summary>
    public static readonly string[] Generated = ["code"];

    /// <param name="prepared">a <c>desmoe data prepare</c> folder</param>
    /// <param name="fits">whether an example fits the model's context (longer ones are left out)</param>
    public static IReadOnlyList<BenchmarkDomain> FromPrepared(string prepared, int trainExamples, int evalExamples, int seed, Func<Example, bool> fits)
    {
        var domains = new List<BenchmarkDomain>();
        foreach (var name in PaperOrder)
        {
            var train = Path.Combine(prepared, $"{name}.train.jsonl");
            var eval = Path.Combine(prepared, $"{name}.eval.jsonl");
            if (Generated.Contains(name))
            {
                var split = DatasetSplit.Create(DomainCatalog.Get(name), trainExamples, evalExamples, seed);
                domains.Add(new BenchmarkDomain(name, split.Train.Where(fits).ToList(), split.Eval.Where(fits).ToList(), TaskMetric.ExactMatch));
                continue;
            }
            // A real domain never falls back to the generated one of the same name: the tables would silently change meaning.
            foreach (var path in new[] { train, eval })
                if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found; run `desmoe data prepare --out {prepared}` first", path);
            domains.Add(new BenchmarkDomain(name, Jsonl.Read(train).Where(fits).Take(trainExamples).ToList(), Jsonl.Read(eval).Where(fits).Take(evalExamples).ToList(),
                name == "summarisation" ? TaskMetric.RougeL : TaskMetric.ExactMatch));
        }
        return domains;
    }
}
