using DesMoe.Formats.Data;
using DesMoe.Formats.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Onnx;

public static class OnnxExactMatch
{
    /// <summary>The same evaluation through an exported graph on ONNX Runtime: what a served export answers, quantized compute included.</summary>
    public static ExactMatchResult Evaluate(OnnxDecoder decoder, ITextTokenizer tokenizer, IReadOnlyList<Example> examples,
        int batchSize = 64, int keepFailures = 5, int domainId = ExpertAssignment.NoDomain, TaskMetric metric = TaskMetric.ExactMatch) =>
        ExactMatchScoring.Score(tokenizer, examples, batchSize, keepFailures, metric,
            (prompts, maxNew) => OnnxGreedyDecoder.Generate(decoder, tokenizer.Special, prompts, maxNew, domainId));
}
