using System.Diagnostics;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Formats.Probes;
using DesMoe.Torch.Evaluation;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Trainer.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Pretraining;

/// <summary>Trains a model from random initialisation on a mixture of sources and saves a model folder, with its general probes in <c>eval/</c>.</summary>
public sealed class Pretrainer(PretrainOptions options, ITextTokenizer tokenizer)
{
    /// <summary>The bundled model's recipe: one source, the generated general set, scored by exact match.</summary>
    public PretrainReport Run(IReadOnlyList<Example> train, IReadOnlyList<Example> eval, string outputFolder,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (train.Count == 0) throw new ArgumentException("the training set is empty", nameof(train));
        var mixture = PretrainMixture.Single(train, eval.Take(options.EvalExamples).ToList(), tokenizer, options.Model.MaxPositions);
        return Run(mixture, outputFolder, hub: null, progress, cancellation);
    }

    /// <param name="hub">when given, the model is saved in this hub layout (config, tokenizer and tensor names); else in DesMoe's own</param>
    public PretrainReport Run(PretrainMixture mixture, string outputFolder, HubOrigin? hub,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (tokenizer.VocabSize > options.Model.VocabSize)
            throw new ArgumentException($"tokenizer needs {tokenizer.VocabSize} ids but vocab_size is {options.Model.VocabSize}");

        // 1. Model and optimiser, seeded.
        torch.manual_seed(options.Seed);
        var random = new Random(options.Seed);
        using var model = new MoeTransformer(options.Model);
        model.train();
        using var optimizer = new AdamW(model.parameters(), options.LearningRate, weightDecay: options.WeightDecay);
        var schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, options.Steps);

        // 2. The loop: draw a batch from the mixture, LM loss + load balancing, one step.
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
                var examples = Enumerable.Range(0, options.BatchSize).Select(_ => mixture.Sample(random)).ToList();
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

        // 3. Held-out probes, one per source.
        var results = mixture.Sources.Where(s => s.Eval.Count > 0).Select(s => s.Probe == MixtureProbe.Loss
                ? new SourceResult(s.Name, "loss", HeldOutLoss.Compute(model, tokenizer, s.Eval), s.Eval.Count)
                : new SourceResult(s.Name, "exact_match", ExactMatchEvaluator.Evaluate(model, tokenizer, s.Eval).Accuracy, s.Eval.Count))
            .ToList();
        var general = results.FirstOrDefault(r => r.Metric == "exact_match");
        var report = new PretrainReport(options.Steps, options.BatchSize, options.Seed, mixture.TrainExamples, finalLoss, wall,
            tokensSeen / wall, general?.Value ?? double.NaN, general?.Examples ?? 0, torch.get_num_threads())
        {
            TokensSeen = tokensSeen,
            LearningRate = options.LearningRate,
            Sources = mixture.Sources.Count > 1 ? results : null,
        };

        // 4. Save.
        var extras = new Dictionary<string, string> { [PretrainReport.FileName] = report.ToJson() };
        if (hub is not null) HubTrainableFolder.Save(outputFolder, model, hub, extras);
        else ModelFolder.Save(outputFolder, model, tokenizer, extras);

        // 5. The general probes later stages are gated on, from the same held-out data (none where it holds no text and
        // no general task the model does well on: those stages then fall back to the built-in general set).
        if (PretrainProbes.Build(model, tokenizer, mixture.Sources, "desmoe pretrain", new PretrainProbes.Options()) is { } probes)
            ProbeFolder.Write(outputFolder, probes);
        return report;
    }
}
