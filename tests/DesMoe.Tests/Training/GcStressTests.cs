using DesMoe.Formats.Files;
using DesMoe.Bench.Stress;
using Xunit;

namespace DesMoe.Tests.Training;

public sealed class GcStressTests
{
    /// <summary>
    /// Domain additions on two threads while a third forces collections and finalizers without pause. Before every
    /// Scalar handed to libtorch was kept alive (analyzers DESMOE001/002, <c>AdamW</c>) and every job ran in a dispose
    /// scope, 40 of 40 such runs failed (c10 Scalar.h asserts); `desmoe-bench gc-stress` runs the long version.
    /// </summary>
    [Fact]
    public void Short_domain_additions_survive_continuous_garbage_collection()
    {
        // 10 steps a run: an addition no longer measures removal costs, and at 2 steps the runs ended after 99 collections.
        var result = GcStress.Run(BundledModel.StringSkillsFolder, runs: 6, parallel: 2, stepsPerRun: 10);
        Assert.True(result.Failures == 0, string.Join("\n", result.FailureMessages));
        Assert.True(result.Collections > 100, $"only {result.Collections} forced collections");
    }
}
