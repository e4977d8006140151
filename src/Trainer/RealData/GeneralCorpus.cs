using System.Text;
using DesMoe.Formats.Files;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// The general-English corpus for pre-training and retention probes: <c>general/{source}.train.txt</c> and
/// <c>general/{source}.eval.txt</c>, one passage of <see cref="Options.MinChars"/>..<see cref="Options.MaxChars"/>
/// characters a line (<see cref="Passages"/>), for State of the Union addresses, Moby Dick, WordNet and GCIDE.
/// Passages are deduplicated and shuffled with the seed; the first <see cref="Options.HeldOut"/> (at most half) are
/// held out and training text is capped at <see cref="Options.MaxTrainBytes"/> a source. The dictionaries leave out the words the
/// reverse-dictionary held-out sets answer, so a model pre-trained here has not read those answers.
/// </summary>
public static class GeneralCorpus
{
    /// <summary>Fewer held-out passages than this would make a perplexity too noisy to compare.</summary>
    public const int MinimumHeldOut = 100;

    public sealed record Options
    {
        public int MinChars { get; init; } = 100;
        public int MaxChars { get; init; } = 300;
        public int HeldOut { get; init; } = 1000;
        public long MaxTrainBytes { get; init; } = 8_000_000;
        public int Seed { get; init; } = 1;
    }

    /// <summary>The sources, each as documents of paragraphs (a passage never crosses from one document to the next).</summary>
    public static IReadOnlyList<(string Name, Func<IEnumerable<IEnumerable<string>>> Documents)> Sources(string fetched, IReadOnlySet<string> excludedWords) =>
    [
        ("sotu", () => StdlibTexts.SotuAddresses(RealDataSource.Sotu.DataPath(fetched))),
        ("moby-dick", () => StdlibTexts.MobyDickParts(RealDataSource.MobyDick.DataPath(fetched))),
        ("wordnet", () => [WordNetGlosses.Entries(WordNetGlosses.Read(RealDataSource.WordNet.DataPath(fetched)), excludedWords)]),
        ("gcide", () => [GcideDefinitions.Entries(GcideMedicalTerms.ReadLines(RealDataSource.Gcide.DataPath(fetched)), excludedWords)]),
    ];

    /// <param name="output">the <c>general</c> folder</param>
    /// <param name="excludedWords">lower-cased words whose dictionary entries are left out</param>
    public static IReadOnlyList<PreparedFile> Prepare(string fetched, string output, Options options, IReadOnlySet<string> excludedWords, Action<PreparedFile>? progress = null)
    {
        var written = new List<PreparedFile>();
        foreach (var (name, documents) in Sources(fetched, excludedWords))
        {
            var passages = documents().SelectMany(d => Passages.Pack(d, options.MinChars, options.MaxChars)).Distinct(StringComparer.Ordinal).ToList();
            var (train, eval) = Split(passages, options);
            if (eval.Count < MinimumHeldOut)
                throw new InvalidDataException($"general/{name}: only {passages.Count} passages, too few to hold out {MinimumHeldOut} and train on as many");
            foreach (var (part, lines) in new[] { ("train", train), ("eval", eval) })
            {
                var path = Path.Combine(output, $"{name}.{part}.txt");
                AtomicFile.Write(path, temp => File.WriteAllLines(temp, lines, new UTF8Encoding(false)));
                var file = new PreparedFile(path, lines.Count, "passages", new FileInfo(path).Length);
                written.Add(file);
                progress?.Invoke(file);
            }
        }
        return written;
    }

    /// <summary>Seeded shuffle; the first <see cref="Options.HeldOut"/> (while at least as many remain to train on) are held out, the rest train up to the byte cap.</summary>
    public static (List<string> Train, List<string> Eval) Split(IReadOnlyList<string> passages, Options options)
    {
        var random = new Random(options.Seed);
        var shuffled = passages.OrderBy(_ => random.Next()).ToList();
        int held = Math.Min(options.HeldOut, shuffled.Count / 2);
        var train = new List<string>();
        long bytes = 0;
        foreach (var passage in shuffled.Skip(held))
        {
            bytes += Encoding.UTF8.GetByteCount(passage) + 1;
            if (bytes > options.MaxTrainBytes) break;
            train.Add(passage);
        }
        return (train, shuffled.Take(held).ToList());
    }
}
