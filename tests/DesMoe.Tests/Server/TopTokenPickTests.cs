using DesMoe.Onnx.Generation;
using DesMoe.Onnx;
using DesMoe.Exporter.Graph;
using DesMoe.Exporter.Onnx.Schema;
using DesMoe.Server.Engine;
using DesMoe.Tests.Export;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>
/// Greedy rows pick from the graph's top tokens and leave the logits unfetched; rows that sample fetch them. Both
/// paths, and an export from before the top tokens (served from the logits alone), must pick the same tokens.
/// </summary>
public sealed class TopTokenPickTests(ExportFixture fixture) : IClassFixture<ExportFixture>
{
    private static readonly (string Prompt, string Domain, int MaxNewTokens)[] Greedy =
    [
        ("copy hello", "", 40),
        ("reverse abcde", "math", 30),
        ("upper moe", "law", 50),
        ("sort 93142", "", 12),
    ];

    [Fact]
    public async Task An_export_without_top_tokens_serves_the_same_greedy_tokens_from_its_logits()
    {
        var folder = fixture.Exports[ExpertKernel.ContribMoe].OutputFolder;
        var withoutTopTokens = fixture.NewPath("onnx-without-top-tokens");
        ExportFixture.CopyFolder(folder, withoutTopTokens);
        RemoveTopTokens(Path.Combine(withoutTopTokens, OnnxNames.ModelFileName));

        using var current = Engine(folder);
        using var older = Engine(withoutTopTokens);
        Assert.False(OnnxDecoder.Load(withoutTopTokens).ReportsTopTokens);
        var fromTopTokens = await Task.WhenAll(Greedy.Select(r => Decode(current, r, SamplingSettings.Greedy)));
        var fromLogits = await Task.WhenAll(Greedy.Select(r => Decode(older, r, SamplingSettings.Greedy)));
        for (int i = 0; i < Greedy.Length; i++)
            Assert.True(fromLogits[i].SequenceEqual(fromTopTokens[i]), $"request {i} ({Greedy[i].Prompt}) differs between the top tokens and the logits");
    }

    [Fact]
    public async Task Sampling_rows_in_the_batch_leave_the_greedy_rows_tokens_unchanged()
    {
        var folder = fixture.Exports[ExpertKernel.ContribMoe].OutputFolder;
        List<int>[] alone;
        using (var engine = Engine(folder, maxBatch: 1))
            alone = await Task.WhenAll(Greedy.Select(r => Decode(engine, r, SamplingSettings.Greedy)));

        using var mixed = Engine(folder, maxBatch: 8);
        var sampling = new SamplingSettings(Temperature: 1.2f, TopK: 20);
        var greedy = Greedy.Select(r => Decode(mixed, r, SamplingSettings.Greedy)).ToList();
        var sampled = Greedy.Select((r, i) => Decode(mixed, r with { MaxNewTokens = 60 }, sampling, seed: i)).ToList();
        var together = await Task.WhenAll(greedy);
        await Task.WhenAll(sampled);

        Assert.All(sampled, s => Assert.Equal(60, s.Result.Count));
        for (int i = 0; i < Greedy.Length; i++)
            Assert.True(alone[i].SequenceEqual(together[i]), $"request {i} ({Greedy[i].Prompt}) decoded differently beside sampling rows");
    }

    [Fact]
    public void The_graph_top_tokens_are_its_logits_two_likeliest_in_a_padded_batch()
    {
        using var decoder = OnnxDecoder.Load(fixture.Exports[ExpertKernel.StandardOps].OutputFolder);
        Assert.True(decoder.ReportsTopTokens);
        long[][] prompts = [[5, 6, 7, 8, 9, 10], [11, 12], [40, 41, 42, 43]];
        int width = prompts.Max(p => p.Length);
        var ids = new long[prompts.Length * width];
        var mask = new long[ids.Length];
        var positions = new long[ids.Length];
        for (int row = 0; row < prompts.Length; row++)
            for (int i = 0; i < prompts[row].Length; i++)
            {
                int at = row * width + width - prompts[row].Length + i;
                (ids[at], mask[at], positions[at]) = (prompts[row][i], 1, i);
            }
        using var empty = decoder.EmptyCache(prompts.Length);
        var input = new OnnxStepInput(prompts.Length, width, ids, mask, positions, [-1, 0, 1]);
        using var both = decoder.Run(input, empty);
        using var topOnly = decoder.Run(input, empty, fetchLogits: false);

        Assert.False(topOnly.HasLogits);
        Assert.Throws<InvalidOperationException>(() => topOnly.Logits.Length);
        for (int row = 0; row < prompts.Length; row++)
        {
            int best = TokenSampler.ArgMax(both.LastLogits(row));
            Assert.Equal([best, TokenSampler.ArgMax(both.LastLogits(row), banned: best)], both.LastTopTokens(row).ToArray());
            Assert.Equal(both.LastTopTokens(row).ToArray(), topOnly.LastTopTokens(row).ToArray());
        }
    }

    [Fact]
    public void A_step_must_bind_the_logits_or_the_top_tokens_and_top_tokens_only_where_the_model_has_them()
    {
        var folder = fixture.Exports[ExpertKernel.ContribMoe].OutputFolder;
        var withoutTopTokens = fixture.NewPath("onnx-binding-without-top-tokens");
        ExportFixture.CopyFolder(folder, withoutTopTokens);
        RemoveTopTokens(Path.Combine(withoutTopTokens, OnnxNames.ModelFileName));
        using var ids = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(new long[] { 1 }, [1, 1]);
        OnnxBoundStep Step(Microsoft.ML.OnnxRuntime.OrtValue? logits, Microsoft.ML.OnnxRuntime.OrtValue? topTokens) =>
            new(ids, ids, ids, ids, [], [], logits, [], [], [], topTokens);

        using (var decoder = OnnxDecoder.Load(folder))
        using (var binding = decoder.CreateStepBinding())
            Assert.Contains("neither was bound", Assert.Throws<ArgumentException>(() => binding.Run(Step(null, null))).Message);
        using (var decoder = OnnxDecoder.Load(withoutTopTokens))
        using (var binding = decoder.CreateStepBinding())
        {
            Assert.False(binding.ReportsTopTokens);
            Assert.Contains("no top_tokens output", Assert.Throws<ArgumentException>(() => binding.Run(Step(ids, ids))).Message);
            using var empty = decoder.EmptyCache(1);
            Assert.Throws<InvalidOperationException>(() => decoder.Run(new OnnxStepInput(1, 1, [1], [1], [0], [-1]), empty, fetchLogits: false));
        }
    }

    /// <summary>What an export made before 2026-12-07 looks like: the same graph without the top_tokens output and its TopK.</summary>
    private static void RemoveTopTokens(string modelPath)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        var output = model.Graph.Output.Single(o => o.Name == OnnxNames.TopTokens);
        model.Graph.Output.Remove(output);
        var topK = model.Graph.Node.Single(n => n.Output.Contains(OnnxNames.TopTokens));
        model.Graph.Node.Remove(topK);
        File.WriteAllBytes(modelPath, Google.Protobuf.MessageExtensions.ToByteArray(model));
    }

    private static OnnxBatchingEngine Engine(string folder, int maxBatch = 4) => CpuEngines.Create(folder, maxBatch, queueCapacity: 16);

    private static Task<List<int>> Decode(OnnxBatchingEngine engine, (string Prompt, string Domain, int MaxNewTokens) r, SamplingSettings sampling, int seed = 0) =>
        CpuEngines.DecodeAsync(engine, r.Prompt, r.Domain, r.MaxNewTokens, sampling, seed, ignoreEndOfText: true);
}
