using DesMoe.Core.Data;
using DesMoe.Core.Model;
using DesMoe.Core.Tokenization;

namespace DesMoe.Core.Evaluation;

/// <summary>Result of an exact-match evaluation; <see cref="Failures"/> keeps a few wrong answers for inspection.</summary>
public sealed record ExactMatchResult(int Correct, int Total, IReadOnlyList<(Example Example, string Answer)> Failures)
{
    public double Accuracy => Total == 0 ? 0 : Correct / (double)Total;
}

/// <summary>Greedy-decodes each prompt and counts answers equal to the reference completion, character for character.</summary>
public static class ExactMatchEvaluator
{
    public static ExactMatchResult Evaluate(MoeTransformer model, ITextTokenizer tokenizer, IReadOnlyList<Example> examples,
        int batchSize = 64, int keepFailures = 5, int domainId = DomainRouting.NoDomain, DomainRouting? domainRouting = null)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            int correct = 0;
            var failures = new List<(Example, string)>();
            foreach (var chunk in examples.Chunk(batchSize))
            {
                var prompts = chunk.Select(e => (IReadOnlyList<int>)PromptFormat.EncodePrompt(tokenizer, e.Prompt)).ToList();
                int maxNew = chunk.Max(e => tokenizer.Encode(e.Completion).Count) + 2;
                var outputs = GreedyDecoder.Generate(model, tokenizer.Special, prompts, maxNew, domainId, domainRouting);
                for (int i = 0; i < chunk.Length; i++)
                {
                    var answer = tokenizer.Decode(outputs[i]);
                    if (answer == chunk[i].Completion) correct++;
                    else if (failures.Count < keepFailures) failures.Add((chunk[i], answer));
                }
            }
            return new ExactMatchResult(correct, examples.Count, failures);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
