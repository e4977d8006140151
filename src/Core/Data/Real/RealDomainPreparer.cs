namespace DesMoe.Core.Data.Real;

/// <summary>What <see cref="RealDomainPreparer.Prepare"/> wrote for one domain.</summary>
public sealed record PreparedDomain(string Domain, string TrainPath, int Train, string EvalPath, int Eval);

/// <summary>
/// Turns the packages <c>desmoe data fetch</c> unpacked into one training and one held-out JSONL file per real-data
/// domain (<c>{domain}.train.jsonl</c>, <c>{domain}.eval.jsonl</c>, the format <c>--data</c> takes), seeded, with
/// held-out prompts disjoint from the training ones and at least <see cref="MinimumHeldOut"/> of them.
/// </summary>
public static class RealDomainPreparer
{
    public const int MinimumHeldOut = 500;

    public sealed record Options
    {
        public int HeldOut { get; init; } = 600;
        public int MaxTrain { get; init; } = 20_000;
        /// <summary>Words in a licence excerpt: short enough for a small model's context.</summary>
        public int LicenceWords { get; init; } = 16;
        public int Seed { get; init; } = 1;
    }

    /// <param name="fetched">the folder <c>desmoe data fetch</c> wrote</param>
    /// <param name="progress">called once a domain is written</param>
    public static IReadOnlyList<PreparedDomain> Prepare(string fetched, string output, Options options, Action<PreparedDomain>? progress = null)
    {
        Directory.CreateDirectory(output);
        var prepared = new List<PreparedDomain>();
        foreach (var source in RealDataSource.All)
        {
            var path = source.DataPath(fetched);
            if (!File.Exists(path) && !Directory.Exists(path))
                throw new FileNotFoundException($"{source.Domain}: {path} not found; run `desmoe data fetch --dir {fetched}` first", path);
            var (train, eval) = source.Domain switch
            {
                "translation" => Split(DingTranslations.Parse(File.ReadLines(path)).ToList(), options),
                "medicine" => Split(GcideMedicalTerms.Parse(GcideMedicalTerms.ReadLines(path)), options),
                "law" => Licences(path, options),
                "math" => Split(SympyDoctests.Parse(SympyDoctests.ReadSources(path)), options),
                _ => throw new InvalidOperationException($"no preparer for domain '{source.Domain}'"),
            };
            if (eval.Count < MinimumHeldOut)
                throw new InvalidDataException($"{source.Domain}: only {eval.Count} held-out examples from {path} (need {MinimumHeldOut})");
            var domain = new PreparedDomain(source.Domain, Path.Combine(output, $"{source.Domain}.train.jsonl"), train.Count,
                Path.Combine(output, $"{source.Domain}.eval.jsonl"), eval.Count);
            Jsonl.Write(domain.TrainPath, train);
            Jsonl.Write(domain.EvalPath, eval);
            prepared.Add(domain);
            progress?.Invoke(domain);
        }
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
