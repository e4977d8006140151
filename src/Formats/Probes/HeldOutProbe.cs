using DesMoe.Formats.Data;

namespace DesMoe.Formats.Probes;

/// <summary>How a held-out probe is scored, both on the 0..1 scale the regression gate's maximum drop is given in.</summary>
public enum ProbeMetric
{
    /// <summary>Fraction of the completion's tokens the model predicts exactly (teacher-forced): for general text passages.</summary>
    NextTokenAccuracy,

    /// <summary>Greedy answer equal to the completion: for task prompts.</summary>
    ExactMatch,
}

/// <summary>
/// One measure of a model's general ability on data it was never trained on. A text passage is an example with an
/// empty prompt and the passage as completion; a task is a prompt and its answer.
/// </summary>
/// <param name="Score">the model's score when the probe was written (what a later stage's score is compared with), if measured</param>
public sealed record HeldOutProbe(string Name, ProbeMetric Metric, IReadOnlyList<Example> Examples, double? Score = null);
