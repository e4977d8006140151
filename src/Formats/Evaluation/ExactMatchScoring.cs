using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Formats.Evaluation;

/// <summary>How a task's answers are scored.</summary>
public enum TaskMetric
{
    /// <summary>1 when the answer equals the reference completion character for character, else 0.</summary>
    ExactMatch,
    /// <summary><see cref="RougeL"/> F1 of answer and reference (summarisation).</summary>
    RougeL,
}

/// <summary>
/// Result of an evaluation; <see cref="Failures"/> keeps a few wrong answers for inspection. <see cref="Score"/> is the
/// mean of the set's <see cref="TaskMetric"/> (equal to <see cref="Accuracy"/> under exact match).
/// </summary>
public sealed record ExactMatchResult(int Correct, int Total, IReadOnlyList<(Example Example, string Answer)> Failures)
{
    public double Accuracy => Total == 0 ? 0 : Correct / (double)Total;

    public TaskMetric Metric { get; init; } = TaskMetric.ExactMatch;

    /// <summary>Sum of the per-example scores under <see cref="Metric"/>.</summary>
    public double ScoreSum { get; init; } = double.NaN;

    public double Score => Total == 0 ? 0 : (double.IsNaN(ScoreSum) ? Correct : ScoreSum) / Total;
}

/// <summary>
/// Scores greedy answers against reference completions (exact match, and the set's metric); the runtimes supply the
/// decoding: <c>DesMoe.Torch.Evaluation.ExactMatchEvaluator</c> and <c>DesMoe.Onnx.OnnxExactMatch</c>.
/// </summary>
public static class ExactMatchScoring
{
    /// <param name="generate">greedy completions of a batch of prompts, up to the given new tokens</param>
    public static ExactMatchResult Score(ITextTokenizer tokenizer, IReadOnlyList<Example> examples, int batchSize, int keepFailures, TaskMetric metric,
        Func<IReadOnlyList<IReadOnlyList<int>>, int, List<List<int>>> generate)
    {
        int correct = 0;
        double scoreSum = 0;
        var failures = new List<(Example, string)>();
        foreach (var chunk in examples.Chunk(batchSize))
        {
            var prompts = chunk.Select(e => (IReadOnlyList<int>)PromptFormat.EncodePrompt(tokenizer, e.Prompt)).ToList();
            int maxNew = chunk.Max(e => tokenizer.Encode(e.Completion).Count) + 2;
            var outputs = generate(prompts, maxNew);
            for (int i = 0; i < chunk.Length; i++)
            {
                var answer = tokenizer.Decode(outputs[i]);
                bool exact = answer == chunk[i].Completion;
                scoreSum += metric == TaskMetric.RougeL ? RougeL.F1(answer, chunk[i].Completion) : exact ? 1 : 0;
                if (exact) correct++;
                else if (failures.Count < keepFailures) failures.Add((chunk[i], answer));
            }
        }
        return new ExactMatchResult(correct, examples.Count, failures) { Metric = metric, ScoreSum = scoreSum };
    }
}
