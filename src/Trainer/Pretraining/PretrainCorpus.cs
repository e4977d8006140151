using DesMoe.Formats.Data;
using DesMoe.Trainer.RealData;

namespace DesMoe.Trainer.Pretraining;

/// <summary>
/// The base model's pre-training mixture from what <c>desmoe data prepare</c> wrote: real English passages (one
/// source per <c>general/{source}.train.txt</c>, trained on as plain text), the general skills the forgetting probes
/// test (the string operations and the reverse dictionary), and a small pool of each domain's own examples, so the
/// untuned model has seen every domain's kind of text without having been fine-tuned on it.
/// </summary>
public static class PretrainCorpus
{
    public sealed record Options
    {
        /// <summary>Share of draws spread evenly over the text sources.</summary>
        public double TextWeight { get; init; } = 0.55;
        public double SkillsWeight { get; init; } = 0.15;
        public double ReverseDictionaryWeight { get; init; } = 0.06;
        /// <summary>Share of draws spread evenly over the domains.</summary>
        public double DomainWeight { get; init; } = 0.24;
        /// <summary>Training examples kept per domain: few enough that the base model is not fine-tuned on the domain.</summary>
        public int DomainPool { get; init; } = 500;
        /// <summary>Held-out examples scored per source after pre-training.</summary>
        public int EvalPerSource { get; init; } = 200;
        /// <summary>Generated domains added to the prepared real ones (the paper's mix of six).</summary>
        public IReadOnlyList<string> GeneratedDomains { get; init; } = ["code"];
        public int Seed { get; init; } = 1;
    }

    /// <summary>Real-data domains read from the prepared folder, in this order.</summary>
    public static readonly string[] RealDomains = ["translation", "law", "medicine", "math", "summarisation"];

    public static IReadOnlyList<MixtureSource> FromPrepared(string prepared, Options options)
    {
        var general = Path.Combine(prepared, RealDomainPreparer.GeneralFolder);
        var texts = Directory.Exists(general) ? Directory.GetFiles(general, "*.train.txt").Order(StringComparer.Ordinal).ToList() : [];
        if (texts.Count == 0)
            throw new FileNotFoundException($"{general}: no *.train.txt passages; run `desmoe data prepare --out {prepared}` first", general);

        var sources = new List<MixtureSource>();
        foreach (var train in texts)
        {
            var name = Path.GetFileName(train)[..^".train.txt".Length];
            var eval = Path.Combine(general, name + ".eval.txt");
            sources.Add(new MixtureSource($"text:{name}", Passages(train), Passages(eval).Take(options.EvalPerSource).ToList(),
                options.TextWeight / texts.Count, MixtureProbe.Loss));
        }

        var skills = GeneralSet.Split(options.EvalPerSource);
        sources.Add(new MixtureSource("skills", skills.Train, skills.Eval, options.SkillsWeight, MixtureProbe.ExactMatch));
        sources.Add(Jsonl("reverse-dictionary", prepared, int.MaxValue, options.EvalPerSource, options.ReverseDictionaryWeight, MixtureProbe.ExactMatch));

        int domains = RealDomains.Length + options.GeneratedDomains.Count;
        foreach (var domain in RealDomains)
            // ROUGE-L is the summarisation score, and exact match of a whole synopsis says little, so the base model's
            // summarisation is reported as held-out loss.
            sources.Add(Jsonl(domain, prepared, options.DomainPool, options.EvalPerSource, options.DomainWeight / domains,
                domain == "summarisation" ? MixtureProbe.Loss : MixtureProbe.ExactMatch));
        foreach (var domain in options.GeneratedDomains)
        {
            var split = DatasetSplit.Create(DomainCatalog.Get(domain), options.DomainPool, options.EvalPerSource, options.Seed);
            sources.Add(new MixtureSource(domain, split.Train, split.Eval, options.DomainWeight / domains, MixtureProbe.ExactMatch));
        }
        return sources;
    }

    private static List<Example> Passages(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => new Example("", l)).ToList();

    private static MixtureSource Jsonl(string name, string folder, int trainCount, int evalCount, double weight, MixtureProbe probe)
    {
        var train = Path.Combine(folder, $"{name}.train.jsonl");
        // Pre-training's progress is watched on the validation split; the test split stays for the reported comparison.
        var eval = Path.Combine(folder, name + RealDomainPreparer.ValidationSuffix);
        foreach (var path in new[] { train, eval })
            if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found; run `desmoe data prepare --out {folder}` first", path);
        return new MixtureSource(name, global::DesMoe.Formats.Data.Jsonl.Read(train).Take(trainCount).ToList(), global::DesMoe.Formats.Data.Jsonl.Read(eval).Take(evalCount).ToList(), weight, probe);
    }
}
