using DesMoe.Formats.Files;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Trainer.Adaptation;
using Xunit;

namespace DesMoe.Tests.Adaptation;

/// <summary>
/// Seeded miniature of the forgetting benchmark on the string-skills model (its general set is what it was trained on): two domains, the same data and step budget
/// for both methods. Asserts the direction of the result: DES-MoE keeps more general ability than full fine-tuning.
/// </summary>
public class ForgettingSmokeTests
{
    private static (double GeneralBefore, double GeneralAfter, AdaptationRun Run) Adapt(AdaptationMethod method)
    {
        string[] domains = ["math", "law"];
        var sets = domains.Select(d => DatasetSplit.Create(DomainCatalog.Get(d), 1000, 10, seed: 1).Train).ToList();
        var general = GeneralSet.HeldOut(200);

        using var loaded = ModelFolder.Load(BundledModel.StringSkillsFolder);
        double before = ExactMatchEvaluator.Evaluate(loaded.Model, loaded.Tokenizer, general).Accuracy;
        var options = new AdaptationOptions { Method = method, Steps = 150, BatchSize = 24, Seed = 1, LogEvery = 1000 };
        var run = new AdaptationTrainer(loaded.Model, loaded.Tokenizer, options).Run(domains, sets, generalReference: GeneralSet.PretrainSample(128));
        // as served: a domain-routed model's general requests take the no-domain path
        double after = RoutedEvaluation.Evaluate(loaded.Model, loaded.Tokenizer, run.DomainRouted ? run.Assignment : null, NoDomainRouting.UnassignedExperts,
            [new EvaluationSet(DomainCatalog.GeneralName, general)])[DomainCatalog.GeneralName].Accuracy;
        return (before, after, run);
    }

    private static double MeanLoss(IEnumerable<(int Step, double Loss)> points) => points.Average(p => p.Loss);

    [Fact]
    public void Domain_routed_des_moe_forgets_less_than_full_fine_tuning_on_the_same_budget()
    {
        var desMoe = Adapt(AdaptationMethod.DomainRouted);
        var fullFineTuning = Adapt(AdaptationMethod.FullFineTuning);

        double desMoeForgetting = desMoe.GeneralBefore - desMoe.GeneralAfter;
        double fftForgetting = fullFineTuning.GeneralBefore - fullFineTuning.GeneralAfter;
        Assert.True(desMoe.GeneralBefore > 0.9);
        Assert.True(fftForgetting > 0.2, $"full fine-tuning should visibly forget (dropped {fftForgetting:P1})");
        Assert.True(desMoeForgetting < fftForgetting / 2, $"DES-MoE dropped {desMoeForgetting:P1} vs full fine-tuning {fftForgetting:P1}");

        // Not by standing still: DES-MoE's training loss on the new domains fell.
        var curve = desMoe.Run.LossCurve;
        Assert.True(MeanLoss(curve.TakeLast(20)) < 0.8 * MeanLoss(curve.Take(20)),
            $"DES-MoE loss {MeanLoss(curve.Take(20)):F3} -> {MeanLoss(curve.TakeLast(20)):F3}");
    }
}
