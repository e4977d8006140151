using System.Diagnostics;
using DesMoe.Core.Checkpoints;
using DesMoe.Core.Data;
using DesMoe.Core.Evaluation;
using DesMoe.Core.Model;
using DesMoe.Core.Tokenization;
using DesMoe.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Pretraining;

/// <summary>Trains a model from random initialisation on a general set and saves a model folder.</summary>
public sealed class Pretrainer(PretrainOptions options, ITextTokenizer tokenizer)
{
    public PretrainReport Run(IReadOnlyList<Example> train, IReadOnlyList<Example> eval, string outputFolder,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (train.Count == 0) throw new ArgumentException("the training set is empty", nameof(train));
        if (tokenizer.VocabSize > options.Model.VocabSize)
            throw new ArgumentException($"tokenizer needs {tokenizer.VocabSize} ids but vocab_size is {options.Model.VocabSize}");

        torch.manual_seed(options.Seed);
        var random = new Random(options.Seed);
        using var model = new MoeTransformer(options.Model);
        model.train();
        using var optimizer = new AdamW(model.parameters(), options.LearningRate, weightDecay: options.WeightDecay);
        var schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, options.Steps);

        var clock = Stopwatch.StartNew();
        long tokensSeen = 0, tokensAtLastLog = 0;
        var lastLog = TimeSpan.Zero;
        double lossSum = 0, balanceSum = 0, finalLoss = double.NaN;
        int lossCount = 0;

        for (int step = 0; step < options.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            double lr = schedule.At(step);
            optimizer.LearningRate = lr;

            using (var scope = NewDisposeScope())
            {
                var examples = Enumerable.Range(0, options.BatchSize).Select(_ => train[random.Next(train.Count)]).ToList();
                using var batch = SequenceBatch.Create(tokenizer, examples, options.Model.MaxPositions);
                var output = model.Forward(batch.InputIds, batch.AttentionMask);
                var lmLoss = LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets);
                var loss = LanguageModelLoss.WithBalance(lmLoss, output.BalanceLoss, options.Model.AuxLossAlpha);
                OptimizerStep.Take(optimizer, loss, options.GradientClip);
                lossSum += lmLoss.item<float>();
                balanceSum += output.BalanceLoss.item<float>();
                lossCount++;
                tokensSeen += batch.InputTokens;
            }

            bool last = step == options.Steps - 1;
            if ((step + 1) % options.LogEvery == 0 || last)
            {
                var elapsed = clock.Elapsed;
                double rate = (tokensSeen - tokensAtLastLog) / Math.Max(1e-9, (elapsed - lastLog).TotalSeconds);
                finalLoss = lossSum / lossCount;
                progress?.Invoke(new TrainingProgress(step + 1, options.Steps, finalLoss, balanceSum / lossCount, lr, rate, elapsed));
                lossSum = balanceSum = 0;
                lossCount = 0;
                tokensAtLastLog = tokensSeen;
                lastLog = elapsed;
            }
        }
        double wall = clock.Elapsed.TotalSeconds;

        var accuracy = ExactMatchEvaluator.Evaluate(model, tokenizer, eval.Take(options.EvalExamples).ToList());
        var report = new PretrainReport(options.Steps, options.BatchSize, options.Seed, train.Count, finalLoss, wall,
            tokensSeen / wall, accuracy.Accuracy, accuracy.Total, torch.get_num_threads());
        ModelFolder.Save(outputFolder, model, tokenizer, new Dictionary<string, string> { [PretrainReport.FileName] = report.ToJson() });
        return report;
    }
}
