using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Trainer.Pretraining;

/// <summary>One part of the pre-training mixture and its held-out set.</summary>
/// <param name="Weight">share of the training draws (weights are normalised over the mixture)</param>
/// <param name="Probe">how the held-out set is scored after training: loss for text, exact match for tasks</param>
public sealed record MixtureSource(string Name, IReadOnlyList<Example> Train, IReadOnlyList<Example> Eval, double Weight, MixtureProbe Probe);

public enum MixtureProbe
{
    /// <summary>Held-out loss per token (perplexity; bits per byte for the byte vocabulary).</summary>
    Loss,
    /// <summary>Greedy exact match of the completion.</summary>
    ExactMatch,
}

/// <summary>
/// What a base model is pre-trained on: weighted sources drawn example by example, so a small source (a domain's
/// few hundred examples) keeps its share however large the text corpus is. Examples longer than the model's
/// context are dropped when the mixture is built and counted in <see cref="Dropped"/>.
/// </summary>
public sealed class PretrainMixture
{
    private readonly double[] _cumulative;

    public PretrainMixture(IReadOnlyList<MixtureSource> sources, ITextTokenizer tokenizer, int maxPositions)
    {
        if (sources.Count == 0) throw new ArgumentException("the mixture has no sources", nameof(sources));
        var kept = new List<MixtureSource>();
        var dropped = new Dictionary<string, int>();
        foreach (var source in sources)
        {
            if (source.Weight <= 0) throw new ArgumentException($"source '{source.Name}' has weight {source.Weight}; weights must be positive");
            bool Fits(Example e) => PromptFormat.Fits(tokenizer, e, maxPositions);
            var train = source.Train.Where(Fits).ToList();
            var eval = source.Eval.Where(Fits).ToList();
            if (train.Count == 0) throw new ArgumentException($"source '{source.Name}' has no training example within {maxPositions} tokens");
            dropped[source.Name] = source.Train.Count - train.Count + source.Eval.Count - eval.Count;
            kept.Add(source with { Train = train, Eval = eval });
        }
        Sources = kept;
        Dropped = dropped;
        double sum = kept.Sum(s => s.Weight), running = 0;
        _cumulative = kept.Select(s => running += s.Weight / sum).ToArray();
    }

    /// <summary>The bundled model's recipe: one source, scored by exact match.</summary>
    public static PretrainMixture Single(IReadOnlyList<Example> train, IReadOnlyList<Example> eval, ITextTokenizer tokenizer, int maxPositions) =>
        new([new MixtureSource("general", train, eval, 1.0, MixtureProbe.ExactMatch)], tokenizer, maxPositions);

    public IReadOnlyList<MixtureSource> Sources { get; }

    /// <summary>Per source, the examples left out because they do not fit the context.</summary>
    public IReadOnlyDictionary<string, int> Dropped { get; }

    public int TrainExamples => Sources.Sum(s => s.Train.Count);

    /// <summary>A source by weight, then one of its examples uniformly.</summary>
    public Example Sample(Random random)
    {
        // One source draws no source index, so a single-source run takes the same random stream as before mixtures.
        if (Sources.Count == 1) return Sources[0].Train[random.Next(Sources[0].Train.Count)];
        double u = random.NextDouble();
        int index = Array.FindIndex(_cumulative, c => u < c);
        var source = Sources[index < 0 ? Sources.Count - 1 : index];
        return source.Train[random.Next(source.Train.Count)];
    }
}
