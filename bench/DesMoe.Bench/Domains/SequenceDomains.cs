using DesMoe.Formats.Data;

namespace DesMoe.Bench.Domains;

/// <summary>One domain of the sequence: its training examples, its held-out set, and where it came from.</summary>
public sealed record SequenceDomain(string Name, string Source, IReadOnlyList<Example> Train, IReadOnlyList<Example> HeldOut);

/// <summary>The ten domains: the six generated ones, then four of a prepared folder's real-data domains under names of their own.</summary>
public static class SequenceDomains
{
    /// <summary>Prepared domain -> the name it is added under (the generated domains hold the plain names).</summary>
    private static readonly (string Prepared, string Name)[] RealData =
        [("medicine", "medicine"), ("law", "law-spdx"), ("translation", "translation-ding"), ("math", "math-sympy")];

    public static IReadOnlyList<SequenceDomain> Build(string? prepared, int trainExamples, int heldOutExamples, int seed)
    {
        var domains = DomainCatalog.Domains.Select(generator =>
        {
            var split = DatasetSplit.Create(generator, trainExamples, heldOutExamples, seed);
            return new SequenceDomain(generator.Domain, "generated", split.Train, split.Eval);
        }).ToList();
        if (prepared is null) return domains;
        foreach (var (name, added) in RealData)
        {
            var train = Path.Combine(prepared, $"{name}.train.jsonl");
            var test = Path.Combine(prepared, $"{name}.test.jsonl");
            foreach (var path in new[] { train, test })
                if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found; run `desmoe data prepare --out {prepared}` first", path);
            domains.Add(new SequenceDomain(added, $"prepared {name}", Jsonl.Read(train), Jsonl.Read(test).Take(heldOutExamples).ToList()));
        }
        return domains;
    }
}
