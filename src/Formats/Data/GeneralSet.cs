namespace DesMoe.Formats.Data;

/// <summary>
/// The general set the bundled base model is pre-trained on. Its held-out examples are drawn so that they never
/// occur in the pre-training set, which makes them the forgetting probe for every later stage.
/// </summary>
public static class GeneralSet
{
    public const int PretrainExamples = 50_000;
    public const int Seed = 1234;

    public static DatasetSplit Split(int heldOutExamples) =>
        DatasetSplit.Create(DomainCatalog.General, PretrainExamples, heldOutExamples, Seed);

    public static IReadOnlyList<Example> HeldOut(int count) => Split(count).Eval;

    /// <summary>The first <paramref name="count"/> pre-training examples: what adaptation may consult about general ability without touching the held-out probe.</summary>
    public static IReadOnlyList<Example> PretrainSample(int count) => DatasetSplit.Generate(DomainCatalog.General, count, Seed);
}
