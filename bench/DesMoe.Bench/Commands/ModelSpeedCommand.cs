using DesMoe.Cli.Commands;
using System.CommandLine;
using System.Diagnostics;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Training;
using DesMoe.Trainer.Optimization;
using static TorchSharp.torch;

namespace DesMoe.Bench.Commands;

/// <summary><c>desmoe-bench model</c>: training and single-sequence forward tokens/s of a model folder on CPU.</summary>
internal static class ModelSpeedCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var batch = new Option<int>("--batch-size") { Description = "training sequences per step", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "timed training steps (after 3 warm-up steps)", DefaultValueFactory = _ => 20 };
        var length = new Option<int>("--seq-len") { Description = "tokens in the single-sequence forward pass", DefaultValueFactory = _ => 64 };
        var repeats = new Option<int>("--repeats") { Description = "timed single-sequence forward passes", DefaultValueFactory = _ => 50 };

        var command = new Command("model", "Measure training tokens/s (forward+backward+AdamW) and single-sequence forward tokens/s on CPU.")
        {
            model, batch, steps, length, repeats,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            using var loaded = ModelFolder.Load(parse.GetValue(model)!);
            var net = loaded.Model;
            Console.WriteLine($"model {loaded.Folder}: {net.ParameterCount():N0} parameters, {get_num_threads()} threads, {Environment.ProcessorCount} cores");

            var examples = DatasetSplit.Generate(DomainCatalog.General, 4096, seed: 7);
            var random = new Random(7);
            net.train();
            using var optimizer = new AdamW(net.parameters(), 1e-4, beta2: 0.999, weightDecay: 0.01);
            long tokens = 0;
            var clock = new Stopwatch();
            int timedSteps = parse.GetValue(steps);
            for (int step = 0; step < timedSteps + 3; step++)
            {
                if (step == 3) clock.Start();
                using var scope = NewDisposeScope();
                using var b = SequenceBatch.Create(loaded.Tokenizer,
                    Enumerable.Range(0, parse.GetValue(batch)).Select(_ => examples[random.Next(examples.Count)]).ToList(), loaded.Config.MaxPositions);
                var output = net.Forward(b.InputIds, b.AttentionMask);
                var loss = LanguageModelLoss.WithBalance(LanguageModelLoss.CrossEntropy(output.Logits, b.Targets), output.BalanceLoss, loaded.Config.AuxLossAlpha);
                optimizer.ZeroGrad();
                loss.backward();
                optimizer.Step();
                if (step >= 3) tokens += b.InputTokens;
            }
            clock.Stop();
            Console.WriteLine($"train: {tokens / clock.Elapsed.TotalSeconds:F0} tokens/s ({clock.Elapsed.TotalMilliseconds / timedSteps:F1} ms/step, batch {parse.GetValue(batch)})");

            net.eval();
            int seqLen = Math.Min(parse.GetValue(length), loaded.Config.MaxPositions);
            using (no_grad())
            {
                var input = randint(0, 256, [1, seqLen], dtype: int64);
                for (int i = 0; i < 3; i++) net.Forward(input).Logits.Dispose();
                clock.Restart();
                for (int i = 0; i < parse.GetValue(repeats); i++)
                {
                    using var scope = NewDisposeScope();
                    _ = net.Forward(input).Logits;
                }
                clock.Stop();
            }
            double perPass = clock.Elapsed.TotalMilliseconds / parse.GetValue(repeats);
            Console.WriteLine($"forward (1 x {seqLen} tokens): {seqLen / (perPass / 1000):F0} tokens/s ({perPass:F2} ms/pass)");
            return 0;
        }));
        return command;
    }
}
