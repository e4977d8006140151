using DesMoe.Formats.Data;
using DesMoe.Formats.Evaluation;

namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>
/// A domain of the comparison: training data, a validation split (learning-rate choice and the best checkpoint) and
/// a test split (the scores), disjoint and from the same distribution, and how answers are scored.
/// </summary>
public sealed record BenchmarkDomain(string Name, IReadOnlyList<Example> Train, IReadOnlyList<Example> Validation, IReadOnlyList<Example> Test, TaskMetric Metric)
{
    /// <summary>The paper's six kinds of task, in this order: the five real-data domains `desmoe data prepare` writes, then generated code.</summary>
    public static readonly string[] PaperOrder = ["math", "law", "translation", "summarisation", "medicine", "code"];

    /// <summary>The domains made by a generator rather than read from the prepared folder.</summary>
    public static readonly string[] Generated = ["code"];

    /// <param name="prepared">a <c>desmoe data prepare</c> folder</param>
    /// <param name="heldOutExamples">validation and test examples per domain (each)</param>
    /// <param name="fits">whether an example fits the model's context (longer ones are left out)</param>
    public static IReadOnlyList<BenchmarkDomain> FromPrepared(string prepared, int trainExamples, int heldOutExamples, int seed, Func<Example, bool> fits)
    {
        var domains = new List<BenchmarkDomain>();
        foreach (var name in PaperOrder)
        {
            if (Generated.Contains(name))
            {
                var split = DatasetSplit.Create(DomainCatalog.Get(name), trainExamples, 2 * heldOutExamples, seed);
                var heldOut = split.Eval.Where(fits).ToList();
                domains.Add(new BenchmarkDomain(name, split.Train.Where(fits).ToList(), heldOut.Where((_, i) => i % 2 == 0).ToList(),
                    heldOut.Where((_, i) => i % 2 == 1).ToList(), TaskMetric.ExactMatch));
                continue;
            }
            // A real domain never falls back to the generated one of the same name: the tables would silently change meaning.
            var paths = new[] { "train", "validation", "test" }.Select(split => Path.Combine(prepared, $"{name}.{split}.jsonl")).ToArray();
            foreach (var path in paths)
                if (!File.Exists(path))
                    throw new FileNotFoundException($"{path} not found; run `desmoe data prepare --out {prepared}` (it writes train, validation and test splits) first", path);
            domains.Add(new BenchmarkDomain(name, Jsonl.Read(paths[0]).Where(fits).Take(trainExamples).ToList(),
                Jsonl.Read(paths[1]).Where(fits).Take(heldOutExamples).ToList(), Jsonl.Read(paths[2]).Where(fits).Take(heldOutExamples).ToList(),
                name == "summarisation" ? TaskMetric.RougeL : TaskMetric.ExactMatch));
        }
        return domains;
    }
}
