using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Formats.Evaluation;

namespace DesMoe.Torch.Evaluation;

/// <summary>Greedy-decodes each prompt and compares the answer with the reference completion (exact match, and the set's metric).</summary>
public static class ExactMatchEvaluator
{
    public static ExactMatchResult Evaluate(MoeTransformer model, ITextTokenizer tokenizer, IReadOnlyList<Example> examples,
        int batchSize = 64, int keepFailures = 5, int domainId = ExpertAssignment.NoDomain, DomainRouting? domainRouting = null,
        TaskMetric metric = TaskMetric.ExactMatch)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            return ExactMatchScoring.Score(tokenizer, examples, batchSize, keepFailures, metric,
                (prompts, maxNew) => GreedyDecoder.Generate(model, tokenizer.Special, prompts, maxNew, domainId, domainRouting));
        }
        finally
        {
            model.train(wasTraining);
        }
    }

}
