using DesMoe.Formats.Data;
namespace DesMoe.Trainer.RealData;

/// <summary>What <see cref="RealDomainPreparer.Prepare"/> wrote for one domain.</summary>
public sealed record PreparedDomain(string Domain, string TrainPath, int Train, string EvalPath, int Eval);

/// <summary>One file <see cref="RealDomainPreparer.Prepare"/> wrote: <paramref name="Count"/> examples or passages, <paramref name="Bytes"/> long.</summary>
public sealed record PreparedFile(string Path, int Count, string Unit, long Bytes);

/// <summary>
/// Turns the packages <c>desmoe data fetch</c> unpacked into one training and one held-out JSONL file per real-data
/// domain (<c>{domain}.train.jsonl</c>, <c>{domain}.eval.jsonl</c>, the format <c>--data</c> takes), seeded, with
/// held-out prompts disjoint from the training ones and at least <see cref="MinimumHeldOut"/> of them; then the
/// general-English corpus (<see cref="GeneralCorpus"/>), kept clear of the held-out answers.
/// </summary>
public static class RealDomainPreparer
{
    /// <summary>The subfolder of the output that holds the general-English passages.</summary>
    public const string GeneralFolder = "general";

    public const int MinimumHeldOut = 500;

    /// <summary>The domains in the order they are written; <c>reverse-dictionary</c> is the general set's probe.</summary>
    public static IReadOnlyList<string> Domains { get; } = ["translation", "law", "medicine", "math", "summarisation", "reverse-dictionary"];

    public sealed record Options
    {
        public int HeldOut { get; init; } = 600;
        public int MaxTrain { get; init; } = 20_000;
        /// <summary>Words in a licence excerpt: short enough for a small model's context.</summary>
        public int LicenceWords { get; init; } = 16;
        /// <summary>Words of a package description a summarisation prompt gives.</summary>
        public int SummaryWords { get; init; } = 40;
        public GeneralCorpus.Options General { get; init; } = new();
        public int Seed { get; init; } = 1;
    }

    /// <param name="fetched">the folder <c>desmoe data fetch</c> wrote</param>
    /// <param name="progress">called once a file is written</param>
    public static IReadOnlyList<PreparedDomain> Prepare(string fetched, string output, Options options, Action<PreparedFile>? progress = null)
    {
        // All sources are checked first, so a fetch folder from before a source was added fails before anything is written.
        var missing = RealDataSource.All.Where(s => !File.Exists(s.DataPath(fetched)) && !Directory.Exists(s.DataPath(fetched))).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException($"{string.Join(", ", missing.Select(s => $"{s.Package} ({s.DataPath(fetched)})"))} not found; run `desmoe data fetch --dir {fetched}` first", missing[0].DataPath(fetched));
        Directory.CreateDirectory(output);
        var prepared = new List<PreparedDomain>();
        var heldOutAnswers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in Domains)
        {
            var (train, eval) = name switch
            {
                "translation" => Split(DingTranslations.Parse(File.ReadLines(RealDataSource.Ding.DataPath(fetched))).ToList(), options),
                "medicine" => Split(GcideMedicalTerms.Parse(GcideMedicalTerms.ReadLines(RealDataSource.Gcide.DataPath(fetched))), options),
                "law" => Licences(RealDataSource.Spdx.DataPath(fetched), options),
                "math" => Split(SympyDoctests.Parse(SympyDoctests.ReadSources(RealDataSource.Sympy.DataPath(fetched))), options),
                "summarisation" => GroupedSplit(DebianDescriptions.Parse(File.ReadLines(RealDataSource.DebianDescriptions.DataPath(fetched)), options.SummaryWords),
                    DebianDescriptions.Family, options),
                "reverse-dictionary" => GroupedSplit(WordNetGlosses.ReverseDictionary(WordNetGlosses.Read(RealDataSource.WordNet.DataPath(fetched))), e => e.Completion, options),
                _ => throw new InvalidOperationException($"no preparer for domain '{name}'"),
            };
            if (eval.Count < MinimumHeldOut)
                throw new InvalidDataException($"{name}: only {eval.Count} held-out examples (need {MinimumHeldOut})");
            var domain = new PreparedDomain(name, Path.Combine(output, $"{name}.train.jsonl"), train.Count, Path.Combine(output, $"{name}.eval.jsonl"), eval.Count);
            Jsonl.Write(domain.TrainPath, train);
            progress?.Invoke(new PreparedFile(domain.TrainPath, train.Count, "examples", new FileInfo(domain.TrainPath).Length));
            Jsonl.Write(domain.EvalPath, eval);
            progress?.Invoke(new PreparedFile(domain.EvalPath, eval.Count, "examples", new FileInfo(domain.EvalPath).Length));
            prepared.Add(domain);
            // Dictionary text would teach these definitions' answers (see GeneralCorpus).
            if (name is "medicine" or "reverse-dictionary") heldOutAnswers.UnionWith(eval.Select(e => e.Completion.ToLowerInvariant()));
        }
        GeneralCorpus.Prepare(fetched, Path.Combine(output, GeneralFolder), options.General with { Seed = options.Seed }, heldOutAnswers, progress);
        return prepared;
    }

    /// <summary>Shuffled, then the first <see cref="Options.HeldOut"/> (at most a third) are held out; prompts are unique, so the sets are disjoint.</summary>
    private static (List<Example> Train, List<Example> Eval) Split(List<Example> examples, Options options)
    {
        var random = new Random(options.Seed);
        var shuffled = examples.OrderBy(_ => random.Next()).ToList();
        int held = Math.Min(options.HeldOut, shuffled.Count / 3);
        return (shuffled.Skip(held).Take(options.MaxTrain).ToList(), shuffled.Take(held).ToList());
    }

    /// <summary>
    /// Like <see cref="Split"/>, but whole groups (a package family, every definition of one word) go to one side, so
    /// held-out examples share no <paramref name="group"/> with training ones; the held-out side is filled group by
    /// group and its overshoot dropped rather than moved into training.
    /// </summary>
    public static (List<Example> Train, List<Example> Eval) GroupedSplit(List<Example> examples, Func<Example, string> group, Options options)
    {
        var random = new Random(options.Seed);
        var groups = examples.GroupBy(group, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToList())
            .OrderBy(_ => random.Next()).ToList();
        int held = Math.Min(options.HeldOut, examples.Count / 3);
        var eval = new List<Example>();
        int taken = 0;
        while (eval.Count < held && taken < groups.Count) eval.AddRange(groups[taken++]);
        var train = groups.Skip(taken).SelectMany(g => g).OrderBy(_ => random.Next()).Take(options.MaxTrain).ToList();
        return (train, eval.Take(held).OrderBy(_ => random.Next()).ToList()); // shuffled, so a first few are not one family
    }

    private static (List<Example> Train, List<Example> Eval) Licences(string folder, Options options)
    {
        var licences = SpdxLicenceExcerpts.Read(folder);
        var eval = SpdxLicenceExcerpts.Excerpts(licences, heldOut: true, perLicence: 2, options.LicenceWords, options.Seed);
        var random = new Random(options.Seed);
        eval = eval.OrderBy(_ => random.Next()).Take(options.HeldOut).ToList();
        int perLicence = Math.Max(1, options.MaxTrain / Math.Max(1, licences.Count));
        var train = SpdxLicenceExcerpts.Excerpts(licences, heldOut: false, Math.Min(perLicence, 16), options.LicenceWords, options.Seed + 1);
        return (train, eval);
    }
}
