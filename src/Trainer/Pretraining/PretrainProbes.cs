using DesMoe.Formats.Data;
using DesMoe.Formats.Probes;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Evaluation;
using DesMoe.Torch.Model;

namespace DesMoe.Trainer.Pretraining;

/// <summary>
/// The general probes a pre-trained model carries in its folder (<see cref="ProbeFolder"/>), made from the mixture's
/// held-out data: each general-English text source's passages (next-token accuracy), and of each general task source
/// the model does well on, the held-out prompts it answers right (exact match), so that a later stage that breaks them
/// shows as a drop from 100%. Domain sources are left out: a domain may be added later, and then it is that domain's own set.
/// </summary>
public static class PretrainProbes
{
    /// <summary>Mixture sources that are general tasks: the string skills (<c>general</c> in the bundled recipe, <c>skills</c> in a corpus mixture) and the reverse dictionary.</summary>
    public static readonly IReadOnlySet<string> TaskSources = new HashSet<string> { "general", "skills", "reverse-dictionary" };

    /// <summary>Prefix of a corpus mixture's general-English text sources (<see cref="PretrainCorpus"/>).</summary>
    public const string TextPrefix = "text:";

    public sealed record Options
    {
        /// <summary>Passages kept per text source (its first ones).</summary>
        public int PassagesPerText { get; init; } = 100;

        /// <summary>Answered prompts kept per task source.</summary>
        public int TaskExamples { get; init; } = 100;

        /// <summary>
        /// A task source becomes a probe only where the model does well on it (held-out exact match at least this):
        /// on base-v2 the string skills (5.7%) are right by luck, and adding one domain took 15 to 65% of those answers
        /// while the English text probes moved by 2 points.
        /// </summary>
        public double MinTaskAccuracy { get; init; } = 0.5;

        public void Validate()
        {
            if (PassagesPerText < 1) throw new ArgumentOutOfRangeException(nameof(PassagesPerText), PassagesPerText, "at least one passage per text source");
            if (TaskExamples < 1) throw new ArgumentOutOfRangeException(nameof(TaskExamples), TaskExamples, "at least one answered prompt per task source");
            if (MinTaskAccuracy is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(MinTaskAccuracy), MinTaskAccuracy, "an accuracy in [0, 1]");
        }
    }

    /// <param name="madeBy">the command that made them, recorded in the manifest</param>
    /// <returns>the probes, or null when the sources hold no text and no general task the model does well on</returns>
    public static ProbeSet? Build(MoeTransformer model, ITextTokenizer tokenizer, IEnumerable<MixtureSource> sources, string madeBy, Options options,
        Action<string>? log = null)
    {
        options.Validate();
        var probes = new List<HeldOutProbe>();
        foreach (var source in sources)
        {
            var fitting = source.Eval.Where(e => PromptFormat.Fits(tokenizer, e, model.Config.MaxPositions)).ToList();
            if (source.Name.StartsWith(TextPrefix, StringComparison.Ordinal) && fitting.Count > 0)
            {
                var passages = fitting.Take(options.PassagesPerText).ToList();
                probes.Add(new HeldOutProbe(source.Name, ProbeMetric.NextTokenAccuracy, passages, NextTokenAccuracy.Compute(model, tokenizer, passages)));
                log?.Invoke($"{source.Name}: {passages.Count} passages, next-token accuracy {probes[^1].Score:P1}");
            }
            else if (TaskSources.Contains(source.Name) && fitting.Count > 0)
            {
                var result = ExactMatchEvaluator.Evaluate(model, tokenizer, fitting, keepFailures: fitting.Count);
                var failed = result.Failures.Select(f => f.Example).ToHashSet(ReferenceEqualityComparer.Instance);
                var answered = fitting.Where(e => !failed.Contains(e)).Take(options.TaskExamples).ToList();
                bool wellDone = result.Accuracy >= options.MinTaskAccuracy;
                log?.Invoke($"{source.Name}: {result.Correct} of {fitting.Count} held-out prompts answered right ({result.Accuracy:P1})" +
                            (wellDone ? "" : $", under {options.MinTaskAccuracy:P0}: no probe"));
                if (wellDone) probes.Add(new HeldOutProbe(source.Name == "general" ? "skills" : source.Name, ProbeMetric.ExactMatch, answered, 1.0));
            }
        }
        return probes.Count == 0 ? null : new ProbeSet(probes, madeBy);
    }
}
