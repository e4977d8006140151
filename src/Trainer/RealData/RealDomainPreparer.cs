using DesMoe.Formats.Data;
namespace DesMoe.Trainer.RealData;

/// <summary>What <see cref="RealDomainPreparer.Prepare"/> wrote for one domain: its three files and their sizes.</summary>
public sealed record PreparedDomain(string Domain, string TrainPath, int Train, string ValidationPath, int Validation, string TestPath, int Test);

/// <summary>One file <see cref="RealDomainPreparer.Prepare"/> wrote: <paramref name="Count"/> examples or passages, <paramref name="Bytes"/> long.</summary>
public sealed record PreparedFile(string Path, int Count, string Unit, long Bytes);

/// <summary>
/// Turns the packages <c>desmoe data fetch</c> unpacked into three JSONL files per domain (<c>{domain}.train.jsonl</c>,
/// <c>{domain}.validation.jsonl</c>, <c>{domain}.test.jsonl</c>), seeded, the three sets disjoint and drawn from one
/// distribution, each held-out set at least <see cref="MinimumHeldOut"/> long; then the general-English corpus
/// (<see cref="GeneralCorpus"/>), kept clear of the held-out answers. Every held-out example tests the domain's
/// skill on an unseen input whose parts training teaches (see docs/domains.md): phrases of known words, clinical
/// terms of known roots and suffixes, unseen passages of known licences, expressions to compute, utterances of
/// known phrasings and slot values.
/// </summary>
public static class RealDomainPreparer
{
    /// <summary>The subfolder of the output that holds the general-English passages.</summary>
    public const string GeneralFolder = "general";

    /// <summary>The three files' suffixes, in the order they are written.</summary>
    public const string TrainSuffix = ".train.jsonl", ValidationSuffix = ".validation.jsonl", TestSuffix = ".test.jsonl";

    public const int MinimumHeldOut = 50;

    /// <summary>The domains in the order they are written; <c>reverse-dictionary</c> is the general set's probe.</summary>
    public static IReadOnlyList<string> Domains { get; } = ["translation", "law", "medicine", "math", "summarisation", "code", "intent", "reverse-dictionary"];

    public sealed record Options
    {
        /// <summary>Examples in each of the validation and test sets (fewer where a domain has too few; never under <see cref="MinimumHeldOut"/>).</summary>
        public int HeldOut { get; init; } = 200;
        public int MaxTrain { get; init; } = 20_000;
        /// <summary>Nouns in the translation lexicon: few enough that a short fine-tune sees each many times (40 stayed at 0.5%).</summary>
        public int TranslationNouns { get; init; } = 16;
        /// <summary>
        /// Licences law tells apart: the longest distinct ones, so each has passages to spare for held-out sets; six,
        /// because ten stayed at 7.5% after the comparison's budget of fine-tuning (docs/domains.md).
        /// </summary>
        public int Licences { get; init; } = 6;
        public int LicenceMinWords { get; init; } = 1500;
        public int LicenceTrainExcerpts { get; init; } = 300;
        /// <summary>Words in a licence excerpt: enough to carry a licence's own phrases, short enough for a small model's context.</summary>
        public int LicenceWords { get; init; } = 32;
        /// <summary>Words of a package description a summarisation prompt gives.</summary>
        public int SummaryWords { get; init; } = 40;
        public GeneralCorpus.Options General { get; init; } = new();
        public int Seed { get; init; } = 1;
    }

    /// <param name="fetched">the folder <c>desmoe data fetch</c> wrote</param>
    /// <param name="progress">called once a file is written</param>
    public static IReadOnlyList<PreparedDomain> Prepare(string fetched, string output, Options options, Action<PreparedFile>? progress = null)
    {
        if (options.HeldOut < MinimumHeldOut) throw new ArgumentOutOfRangeException(nameof(options), options.HeldOut, $"held-out set of {options.HeldOut} is below the minimum of {MinimumHeldOut}");
        // All sources are checked first, so a fetch folder from before a source was added fails before anything is written.
        var missing = RealDataSource.All.Where(s => !File.Exists(s.DataPath(fetched)) && !Directory.Exists(s.DataPath(fetched))).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException($"{string.Join(", ", missing.Select(s => $"{s.Package} ({s.DataPath(fetched)})"))} not found; run `desmoe data fetch --dir {fetched}` first", missing[0].DataPath(fetched));
        Directory.CreateDirectory(output);
        var prepared = new List<PreparedDomain>();
        var heldOutAnswers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in Domains)
        {
            var splits = Disjoint(name switch
            {
                "translation" => DingPhrases.Split(DingPhrases.Lexicon(File.ReadLines(RealDataSource.Ding.DataPath(fetched)), options.TranslationNouns),
                    options.HeldOut, options.MaxTrain, options.Seed),
                "medicine" => MedicalWordFormation.Split(options.HeldOut, options.Seed),
                "law" => Licences(RealDataSource.Spdx.DataPath(fetched), options),
                "math" => HeldOutSplit.Random(SympyExpressions.All(), options.HeldOut, options.MaxTrain, options.Seed),
                "intent" => HeldOutSplit.Random(IntentUtterances.All(), options.HeldOut, options.MaxTrain, options.Seed),
                "code" => HeldOutSplit.Random(VariableTracing.All(options.MaxTrain + 2 * options.HeldOut, options.Seed), options.HeldOut, options.MaxTrain, options.Seed),
                "summarisation" => HeldOutSplit.Grouped(DebianDescriptions.Parse(File.ReadLines(RealDataSource.DebianDescriptions.DataPath(fetched)), options.SummaryWords),
                    DebianDescriptions.Family, options.HeldOut, options.MaxTrain, options.Seed),
                "reverse-dictionary" => HeldOutSplit.Grouped(WordNetGlosses.DerivedWords(WordNetGlosses.Read(RealDataSource.WordNet.DataPath(fetched))), e => e.Completion, options.HeldOut, options.MaxTrain, options.Seed),
                _ => throw new InvalidOperationException($"no preparer for domain '{name}'"),
            });
            if (splits.HeldOut < MinimumHeldOut)
                throw new InvalidDataException($"{name}: only {splits.Validation.Count} validation and {splits.Test.Count} test examples (need {MinimumHeldOut} each)");
            var domain = new PreparedDomain(name, Path.Combine(output, name + TrainSuffix), splits.Train.Count,
                Path.Combine(output, name + ValidationSuffix), splits.Validation.Count, Path.Combine(output, name + TestSuffix), splits.Test.Count);
            foreach (var (path, examples) in new[] { (domain.TrainPath, splits.Train), (domain.ValidationPath, splits.Validation), (domain.TestPath, splits.Test) })
            {
                Jsonl.Write(path, examples);
                progress?.Invoke(new PreparedFile(path, examples.Count, "examples", new FileInfo(path).Length));
            }
            prepared.Add(domain);
            // Dictionary text would teach these definitions' answers (see GeneralCorpus). Medicine's answers are organ
            // names its glossary teaches anyway; leaving out their entries (skin, brain) would only thin the general text.
            if (name is "reverse-dictionary") heldOutAnswers.UnionWith(splits.Validation.Concat(splits.Test).Select(e => e.Completion.ToLowerInvariant()));
        }
        GeneralCorpus.Prepare(fetched, Path.Combine(output, GeneralFolder), options.General with { Seed = options.Seed }, heldOutAnswers, progress);
        return prepared;
    }

    /// <summary>
    /// The splits with any prompt already in training dropped from validation and test, and any test prompt from
    /// validation: a text repeated inside a source (a licence's boilerplate) must not be both taught and asked.
    /// </summary>
    public static DomainSplits Disjoint(DomainSplits splits)
    {
        var trained = splits.Train.Select(e => e.Prompt).ToHashSet(StringComparer.Ordinal);
        var test = splits.Test.Where(e => !trained.Contains(e.Prompt)).ToList();
        var tested = test.Select(e => e.Prompt).ToHashSet(StringComparer.Ordinal);
        return splits with { Validation = splits.Validation.Where(e => !trained.Contains(e.Prompt) && !tested.Contains(e.Prompt)).ToList(), Test = test };
    }

    private static DomainSplits Licences(string folder, Options options)
    {
        var licences = SpdxLicenceExcerpts.LongAndDistinct(SpdxLicenceExcerpts.Read(folder), options.Licences, options.LicenceMinWords);
        int heldPerLicence = (options.HeldOut + licences.Count - 1) / licences.Count;
        var random = new Random(options.Seed);
        List<Example> Part(SpdxLicenceExcerpts.Part part, int perLicence, int seed) =>
            SpdxLicenceExcerpts.Excerpts(licences, part, perLicence, options.LicenceWords, seed).OrderBy(_ => random.Next()).ToList();
        return new DomainSplits(Part(SpdxLicenceExcerpts.Part.Train, options.LicenceTrainExcerpts, options.Seed).Take(options.MaxTrain).ToList(),
            Part(SpdxLicenceExcerpts.Part.Validation, heldPerLicence, options.Seed + 1).Take(options.HeldOut).ToList(),
            Part(SpdxLicenceExcerpts.Part.Test, heldPerLicence, options.Seed + 2).Take(options.HeldOut).ToList());
    }
}
