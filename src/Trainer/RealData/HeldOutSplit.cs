using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>One domain's three disjoint sets: training, validation (for choosing settings) and test (for reporting).</summary>
public sealed record DomainSplits(List<Example> Train, List<Example> Validation, List<Example> Test)
{
    /// <summary>The smaller of the two held-out sets.</summary>
    public int HeldOut => Math.Min(Validation.Count, Test.Count);
}

/// <summary>Seeded train / validation / test splits with no prompt on two sides.</summary>
public static class HeldOutSplit
{
    /// <summary>
    /// Shuffled; the first <paramref name="heldOut"/> (at most a quarter each) are the test set, the next as many the
    /// validation set, the rest training. Prompts are assumed unique, so the three sets are disjoint.
    /// </summary>
    public static DomainSplits Random(IReadOnlyList<Example> examples, int heldOut, int maxTrain, int seed)
    {
        var random = new Random(seed);
        var shuffled = examples.OrderBy(_ => random.Next()).ToList();
        int held = Math.Min(heldOut, shuffled.Count / 4);
        return new DomainSplits(shuffled.Skip(2 * held).Take(maxTrain).ToList(), shuffled.Skip(held).Take(held).ToList(), shuffled.Take(held).ToList());
    }

    /// <summary>
    /// Like <see cref="Random"/>, but whole groups (a package family, every definition of one word) go to one set, so
    /// no two sets share a <paramref name="group"/>; each held-out set is filled group by group and its overshoot
    /// dropped rather than moved into training.
    /// </summary>
    public static DomainSplits Grouped(IReadOnlyList<Example> examples, Func<Example, string> group, int heldOut, int maxTrain, int seed)
    {
        var random = new Random(seed);
        var groups = examples.GroupBy(group, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToList())
            .OrderBy(_ => random.Next()).ToList();
        int held = Math.Min(heldOut, examples.Count / 4);
        int taken = 0;
        List<Example> Fill()
        {
            var set = new List<Example>();
            while (set.Count < held && taken < groups.Count) set.AddRange(groups[taken++]);
            return set.Take(held).OrderBy(_ => random.Next()).ToList(); // shuffled, so a first few are not one family
        }
        var test = Fill();
        var validation = Fill();
        var train = groups.Skip(taken).SelectMany(g => g).OrderBy(_ => random.Next()).Take(maxTrain).ToList();
        return new DomainSplits(train, validation, test);
    }
}
