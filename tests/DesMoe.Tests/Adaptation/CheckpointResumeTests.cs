using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Trainer.Adaptation;
using Xunit;

namespace DesMoe.Tests.Adaptation;

public class CheckpointResumeTests
{
    private static readonly IReadOnlyList<Example> General = DatasetSplit.Generate(DomainCatalog.General, 16, 2);

    private static IReadOnlyList<IReadOnlyList<Example>> Sets(params string[] domains) =>
        domains.Select(d => DatasetSplit.Generate(DomainCatalog.Get(d), 64, 1)).ToList();

    // DES-MoE refreshes its matrix every 2 steps, so a checkpoint at step 3 holds a half-filled usage window.
    private static AdaptationOptions Options(string? folder, AdaptationMethod method = AdaptationMethod.DomainRouted) => new()
    {
        Method = method, Steps = 12, BatchSize = 8, LearningRate = 1e-2, WarmupFraction = 0.25, StabilizationFraction = 0.25, ReassignEvery = 2,
        MatrixRefreshEvery = 2, AdaptableExperts = 3, LogEvery = 1, CheckpointDirectory = folder, CheckpointEvery = 3,
    };

    private static Dictionary<string, float[]> Weights(TorchSharp.torch.nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().flatten().data<float>().ToArray());

    // Steps 0-2 warm-up, 3-5 stabilization, 6-11 consolidation: one optimizer serves every phase, so a checkpoint in
    // any of them carries the moments of every tensor trained so far.
    [Theory]
    [InlineData(AdaptationMethod.DomainRouted, 5, 3)]
    [InlineData(AdaptationMethod.DomainRouted, 7, 6)]
    [InlineData(AdaptationMethod.DesMoe, 5, 3)]
    [InlineData(AdaptationMethod.DesMoe, 10, 9)]
    public void An_interrupted_run_resumed_from_its_checkpoint_ends_exactly_where_an_uninterrupted_run_does(AdaptationMethod method, int interruptAfter, int checkpointStep)
    {
        string[] domains = ["math", "law"];
        using var straight = TinyModels.Create(seed: 21, config: TinyModels.Config(experts: 8, topK: 2));
        var uninterrupted = new AdaptationTrainer(straight, new ByteTokenizer(), Options(null, method)).Run(domains, Sets(domains), generalReference: General);

        var folder = Directory.CreateTempSubdirectory("desmoe-resume-").FullName;
        try
        {
            using (var first = TinyModels.Create(seed: 21, config: TinyModels.Config(experts: 8, topK: 2)))
            {
                using var stop = new CancellationTokenSource();
                var trainer = new AdaptationTrainer(first, new ByteTokenizer(), Options(folder, method));
                Assert.ThrowsAny<OperationCanceledException>(() => trainer.Run(domains, Sets(domains), p =>
                {
                    if (p.Step == interruptAfter) stop.Cancel();
                }, stop.Token, generalReference: General));
            }
            Assert.Equal(checkpointStep, AdaptationCheckpoint.TryLoad(folder)!.Step);

            using var second = TinyModels.Create(seed: 21, config: TinyModels.Config(experts: 8, topK: 2));
            var log = new List<string>();
            var trainer2 = new AdaptationTrainer(second, new ByteTokenizer(), Options(folder, method));
            trainer2.Log += log.Add;
            var resumed = trainer2.Run(domains, Sets(domains), generalReference: General);

            Assert.Contains(log, line => line.Contains("resuming from the checkpoint") && line.Contains($"at step {checkpointStep}"));
            Assert.Equal(uninterrupted.LossCurve, resumed.LossCurve);
            Assert.Equal(uninterrupted.Assignment!.ToJson(), resumed.Assignment!.ToJson());
            var expected = Weights(straight);
            var actual = Weights(second);
            Assert.All(expected.Keys, name => Assert.Equal(expected[name], actual[name]));

            using var other = TinyModels.Create(seed: 21, config: TinyModels.Config(experts: 8, topK: 2));
            var error = Assert.Throws<InvalidOperationException>(() =>
                new AdaptationTrainer(other, new ByteTokenizer(), Options(folder, method)).Run(["math", "code"], Sets("math", "code"), generalReference: General));
            Assert.Contains("the checkpoint belongs to another run: domains [math, law] (this run: [math, code])", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
