using DesMoe.Formats.Data;
using DesMoe.Formats.Evaluation;
using DesMoe.Torch.Evaluation;
using DesMoe.Trainer.Evaluation;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Evaluation;

/// <summary>The general probes (the paper's Table 2 side) and next-token accuracy.</summary>
public class GeneralProbeTests
{
    [Fact]
    public void Next_token_accuracy_counts_the_argmax_hits_over_the_target_tokens()
    {
        using var model = TinyModels.Create(seed: 3);
        var tokenizer = new ByteTokenizer();
        var examples = new[] { new Example("", "abab abab abab"), new Example("copy x", "x"), new Example("", "the cat sat on the mat") };

        long hits = 0, targets = 0;
        using (no_grad())
            foreach (var example in examples)
            {
                using var batch = SequenceBatch.Create(tokenizer, [example], model.Config.MaxPositions);
                var predicted = model.Forward(batch.InputIds, batch.AttentionMask).Logits.argmax(-1).flatten().data<long>().ToArray();
                var expected = batch.Targets.flatten().data<long>().ToArray();
                for (int i = 0; i < expected.Length; i++)
                    if (expected[i] != SequenceBatch.IgnoreIndex) { targets++; if (predicted[i] == expected[i]) hits++; }
            }

        Assert.Equal(hits / (double)targets, NextTokenAccuracy.Compute(model, tokenizer, examples), 12);
    }

    [Fact]
    public void Probes_from_a_prepared_folder_are_the_skills_and_each_text_source()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("general"));
        File.WriteAllLines(dir.File("general/sotu.eval.txt"), ["We the people of the United States.", "", "In order to form a more perfect union."]);
        File.WriteAllLines(dir.File("general/moby-dick.eval.txt"), ["Call me Ishmael."]);
        File.WriteAllLines(dir.File("general/sotu.train.txt"), ["not a probe"]);

        var probes = GeneralProbes.FromPrepared(dir.Path, perProbe: 5);

        Assert.Equal(["skills", "next-token:moby-dick", "next-token:sotu"], probes.Select(p => p.Name));
        Assert.Equal(2, probes.Single(p => p.Name == "next-token:sotu").Examples.Count); // the blank line is not a passage
        using var model = TinyModels.Create(seed: 4);
        var scores = GeneralProbes.Evaluate(model, new ByteTokenizer(), probes);
        Assert.All(scores.Scores.Values, s => Assert.InRange(s, 0, 1));
        Assert.Equal(scores.Scores.Values.Average(), scores.Average, 12);

        Directory.Delete(dir.File("general"), recursive: true);
        var missing = Assert.Throws<FileNotFoundException>(() => GeneralProbes.FromPrepared(dir.Path, 5));
        Assert.Contains("run `desmoe data prepare", missing.Message);
    }

    [Fact]
    public void A_rouge_l_set_scores_each_answer_by_its_rouge_l_and_exact_answers_by_one()
    {
        using var model = TinyModels.Create(seed: 5);
        var tokenizer = new ByteTokenizer();
        var examples = DatasetSplit.Generate(DomainCatalog.General, 6, 9);

        var exact = ExactMatchEvaluator.Evaluate(model, tokenizer, examples, keepFailures: examples.Count);
        var rouge = ExactMatchEvaluator.Evaluate(model, tokenizer, examples, keepFailures: examples.Count, metric: TaskMetric.RougeL);

        Assert.Equal(exact.Accuracy, exact.Score);
        Assert.Equal(exact.Correct, rouge.Correct);
        double expected = (rouge.Correct + rouge.Failures.Sum(f => RougeL.F1(f.Answer, f.Example.Completion))) / examples.Count;
        Assert.Equal(expected, rouge.Score, 12);
        Assert.Equal(TaskMetric.RougeL, rouge.Metric);
    }
}
