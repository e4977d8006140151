namespace DesMoe.Formats.Data;

/// <summary>Seeded train/held-out sets for a generator; held-out prompts never appear in the training set.</summary>
public sealed record DatasetSplit(IReadOnlyList<Example> Train, IReadOnlyList<Example> Eval)
{
    public static IReadOnlyList<Example> Generate(IExampleGenerator generator, int count, int seed)
    {
        var random = new Random(seed);
        var examples = new List<Example>(count);
        for (int i = 0; i < count; i++) examples.Add(generator.Next(random));
        return examples;
    }

    public static DatasetSplit Create(IExampleGenerator generator, int trainCount, int evalCount, int seed)
    {
        var train = Generate(generator, trainCount, seed);
        var seen = train.Select(e => e.Prompt).ToHashSet(StringComparer.Ordinal);
        var random = new Random(unchecked(seed * 7919 + 1));
        var eval = new List<Example>(evalCount);
        // Bounded: small domains may not have evalCount unseen prompts left.
        for (int attempts = 0; eval.Count < evalCount && attempts < evalCount * 50; attempts++)
        {
            var example = generator.Next(random);
            if (seen.Add(example.Prompt)) eval.Add(example);
        }
        return new DatasetSplit(train, eval);
    }
}
