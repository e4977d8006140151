using System.Diagnostics;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Tensors;
using DesMoe.Trainer.Adaptation;

namespace DesMoe.Bench.Stress;

/// <summary>What <see cref="GcStress"/> measured.</summary>
public sealed record GcStressResult(int Runs, int Failures, IReadOnlyList<string> FailureMessages, long Collections, double Seconds);

/// <summary>
/// Runs short domain additions (profiling, expert copies, training steps under domain routing) over
/// and over, on several threads at once, while another thread forces garbage collections and finalizers
/// continuously. Any TorchSharp Scalar that is passed to native code without being kept alive is then freed under
/// libtorch's feet sooner or later; the run counts the failures (exceptions of any kind) instead of stopping.
/// </summary>
public static class GcStress
{
    public static GcStressResult Run(string modelFolder, int runs, int parallel, int stepsPerRun, Action<int, int>? progress = null)
    {
        if (runs <= 0) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be positive");
        if (parallel <= 0) throw new ArgumentOutOfRangeException(nameof(parallel), parallel, "parallel must be positive");
        if (stepsPerRun <= 0) throw new ArgumentOutOfRangeException(nameof(stepsPerRun), stepsPerRun, "steps per run must be positive");
        var data = DatasetSplit.Create(DomainCatalog.Get("intent"), 64, 8, seed: 3);
        var failures = new List<string>();
        int started = 0, finished = 0;
        long collections = 0;
        using var stop = new CancellationTokenSource();
        var pressure = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _ = new byte[64 * 1024];
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true, Name = "gc-pressure" };
        var clock = Stopwatch.StartNew();
        pressure.Start();
        var workers = Enumerable.Range(0, parallel).Select(_ => new Thread(() =>
        {
            TorchSharp.torch.set_num_threads(1);
            while (Interlocked.Increment(ref started) <= runs)
            {
                try
                {
                    TensorLifetime.Scoped(() => // as the adaptation worker runs a job
                    {
                        using var loaded = ModelFolder.Load(modelFolder);
                        var addition = new DomainAddition(loaded.Model, loaded.Tokenizer, new DomainAdditionOptions
                        {
                            Steps = stepsPerRun, BatchSize = 4, ProfileExamples = 16, WarmupLearningRateSteps = 1,
                        });
                        addition.Run(ExpertAssignment.Empty(loaded.Config.NumMoeLayers, loaded.Config.NumRoutedExperts), null, "intent", data.Train);
                    });
                }
                catch (Exception e)
                {
                    lock (failures) failures.Add($"{e.GetType().Name}: {e.Message.Split('\n')[0]}"); if (Environment.GetEnvironmentVariable("DESMOE_STRESS_TRACE") == "1") Console.Error.WriteLine(e);
                }
                progress?.Invoke(Interlocked.Increment(ref finished), runs);
            }
        }) { Name = "stress-worker" }).ToList();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        stop.Cancel();
        pressure.Join();
        return new GcStressResult(runs, failures.Count, failures, collections, clock.Elapsed.TotalSeconds);
    }
}
