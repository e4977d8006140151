using Xunit;

namespace DesMoe.Tests.Cli;

/// <summary><c>desmoe-bench onnx</c> at toy sizes: every export variant is written, timed and scored through ONNX Runtime.</summary>
public sealed class OnnxBenchCliTests
{
    [Fact]
    public async Task Bench_onnx_times_and_scores_every_variant_int8_compute_included()
    {
        var run = await CliRunner.BenchAsync("", null, "onnx", "--model", Path.Combine(Support.Repository.Root, "models", "base"),
            "--batch-sizes", "1", "--repeats", "1", "--prompt-tokens", "4", "--decode-tokens", "2", "--quality-examples", "8");

        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        foreach (var variant in new[] { "StandardOps Int8", "StandardOps Int4", "StandardOps Int8, int8 compute", "StandardOps Int4, int8 compute" })
        {
            Assert.Matches($@"ONNX Runtime {variant}\s+model\.onnx\s+\d+\.\d\d MB, parity", run.Output);
            Assert.Matches($@"ONNX Runtime {variant}\s+1\s+4\s+\d+\.\d\d\s+\d+\.\d\d", run.Output);
            // Scored through its own graph on the general set, against the fp32 baseline.
            Assert.Matches($@"ONNX Runtime {variant}\s+general\s+\d+\.\d %\s+[+-]?\d+\.\d", run.Output);
        }
        Assert.Matches(@"ONNX Runtime StandardOps\s+general\s+\d+\.\d %\s+0\.0", run.Output);
        Assert.DoesNotMatch(@"ContribMoe\s+general", run.Output);
    }
}
