using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Cli;

/// <summary><c>desmoe-bench peer</c> as a user runs it: the real CLI, GenAI and the in-process server, at toy sizes.</summary>
public sealed class GenAiPeerBenchTests
{
    [Fact]
    public async Task Bench_peer_prints_both_runtimes_the_goal_ratios_and_the_greedy_agreement()
    {
        var run = await CliRunner.BenchAsync("", null, "peer", "--prompts", "3", "--new-tokens", "6", "--clients", "1,3", "--genai-batch", "3", "--rounds", "2");

        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        Assert.Contains("ONNX Runtime GenAI ", run.Output);
        Assert.Contains("ONNX Runtime GenAI, static batch ", run.Output);
        Assert.Matches(@"ours \(gRPC, continuous batching\)\s+3\s+\d+", run.Output);
        Assert.Contains("round 1 of 2:", run.Output);
        Assert.Contains("round 2 of 2:", run.Output);
        Assert.Matches(@"ours 1 stream / GenAI 1 stream: \d+\.\d\dx \(goal >= 1\.0x\)", run.Output);
        // The goals are judged once, on the median of the rounds.
        Assert.Matches(@"over 2 rounds \(median, range\):\s+ours 1 stream / GenAI 1 stream: \d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\) \(goal >= 1\.0x: (met|MISSED), met in [012] of 2 rounds\)", run.Output);
        // The engine driven without gRPC decodes the same tokens and is set against our gRPC single stream.
        Assert.Matches(@"our engine alone \(no gRPC\)\s+1\s+\d+ .*\| 3/3 prompts", run.Output);
        Assert.Matches(@"our engine alone / GenAI 1 stream: \d+\.\d\dx \(no goal\); serving it over gRPC keeps \d+% of its single-stream tokens/s \(TTFT p50 \d+\.\d -> \d+\.\d ms\)", run.Output);
        Assert.Contains("ours 3 streams / GenAI static batch of 3:", run.Output);
        Assert.Contains("greedy outputs: equal on all 3 prompts for every engine and level in every round", run.Output);
        Assert.Contains("3/3 prompts", run.Output);
    }

    [Fact]
    public async Task Bench_peer_names_a_folder_without_genai_config_a_bad_level_bad_server_threads_and_bad_rounds()
    {
        using var dir = new TempDirectory();
        var export = ModelExporter.Export(DesMoe.Formats.Files.BundledModel.StringSkillsFolder, dir.File("onnx"), new ExportOptions());
        File.Delete(Path.Combine(export.OutputFolder, GenAiConfig.FileName));

        var missing = await CliRunner.BenchAsync("", null, "peer", "--export", export.OutputFolder, "--prompts", "2", "--new-tokens", "4");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains($"has no {GenAiConfig.FileName}", missing.Error);

        var level = await CliRunner.BenchAsync("", null, "peer", "--export", export.OutputFolder, "--clients", "1,zero");
        Assert.Equal(1, level.ExitCode);
        Assert.Contains("--clients expects positive integers, got 'zero'", level.Error);

        var threads = await CliRunner.BenchAsync("", null, "peer", "--export", export.OutputFolder, "--server-threads", "-1");
        Assert.Equal(1, threads.ExitCode);
        Assert.Contains("--server-threads must be 0 (the server's default) or positive, got -1", threads.Error);

        var rounds = await CliRunner.BenchAsync("", null, "peer", "--export", export.OutputFolder, "--rounds", "0");
        Assert.Equal(1, rounds.ExitCode);
        Assert.Contains("--rounds must be positive, got 0", rounds.Error);
    }
}
