using System.Text.Json;
using DesMoe.Onnx.Generation;
using DesMoe.Exporter.Graph;
using DesMoe.Server.Engine;
using DesMoe.Server.KvCache;
using DesMoe.Tests.Export;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>
/// Long greedy decodes through the engine in a mixed batch that keeps changing: four slots for ten requests of three
/// domains, prompts of 7 to 80 tokens and budgets of 12 to 200 tokens (one capped by the context), so rows leave and join mid-flight, a long
/// prompt widens the batch, a leaving long row leaves padding to compact, and one row runs to the end of the context.
/// Every request must decode the tokens it decodes alone, and the tokens the engine decoded before the KV cache
/// became resident (recorded from that engine in <see cref="GoldenPath"/>).
/// </summary>
public sealed class ResidentKvDecodeTests(ExportFixture fixture) : IClassFixture<ExportFixture>
{
    /// <summary>Recorded by running this test against the per-sequence-cache engine with DESMOE_RECORD_ENGINE_GOLDEN=1.</summary>
    private static string GoldenPath => Path.Combine(Repository.Root, "tests", "fixtures", "engine", "mixed-batch-greedy.json");

    private static readonly (string Prompt, string Domain, int MaxNewTokens, bool IgnoreEnd)[] Requests =
    [
        ("copy hello", "", 90, true),
        ("reverse abcde", "math", 40, true),
        ("upper moe", "law", 200, true),
        ("sort 93142", "", 12, true),
        ("copy " + string.Concat(Enumerable.Repeat("abcdefgh", 9)), "math", 30, true),
        ("length abcdefg", "law", 64, true),
        ("last router", "", 24, false),
        ("copy xyz", "math", 100, true),
        ("upper grpc", "law", 50, true),
        ("reverse 123456789", "", 70, true),
    ];

    [Fact]
    public async Task A_changing_mixed_batch_decodes_what_each_request_decodes_alone_and_what_the_previous_engine_decoded()
    {
        var folder = fixture.Exports[ExpertKernel.ContribMoe].OutputFolder;
        var batched = await DecodeTogetherAsync(folder);
        List<List<int>> alone;
        using (var engine = Engine(folder, maxBatch: 1))
        {
            alone = [];
            foreach (var r in Requests) alone.Add(await Decode(engine, r));
        }

        Assert.Contains(batched, tokens => tokens.Count >= 100); // the long decode ran long
        for (int i = 0; i < Requests.Length; i++) Assert.True(alone[i].SequenceEqual(batched[i]), $"request {i} ({Requests[i].Prompt}) decoded differently in the batch");

        if (Environment.GetEnvironmentVariable("DESMOE_RECORD_ENGINE_GOLDEN") == "1")
        {
            File.WriteAllText(GoldenPath, JsonSerializer.Serialize(batched));
            return;
        }
        var previous = JsonSerializer.Deserialize<List<List<int>>>(File.ReadAllText(GoldenPath))!;
        for (int i = 0; i < Requests.Length; i++) Assert.True(previous[i].SequenceEqual(batched[i]), $"request {i} ({Requests[i].Prompt}) differs from the previous engine's tokens");
    }

    /// <summary>
    /// The CUDA provider's cache layout (native buffers bound by pointer, rows moved by the memory's own copies) run
    /// over host memory: the same mixed batch must decode the same tokens as the managed buffers the CPU serves from.
    /// </summary>
    [Fact]
    public async Task Native_kv_buffers_decode_the_mixed_batch_as_the_managed_ones_do()
    {
        var folder = fixture.Exports[ExpertKernel.ContribMoe].OutputFolder;
        var managed = await DecodeTogetherAsync(folder);
        var native = await DecodeTogetherAsync(folder, HostKvMemory.Instance);
        for (int i = 0; i < Requests.Length; i++) Assert.True(managed[i].SequenceEqual(native[i]), $"request {i} ({Requests[i].Prompt}) decoded differently over native buffers");
    }

    /// <summary>Every request at once through four slots, so rows leave and join mid-flight.</summary>
    private static async Task<List<List<int>>> DecodeTogetherAsync(string folder, IKvMemory? kvMemory = null)
    {
        using var engine = Engine(folder, maxBatch: 4, kvMemory);
        return (await Task.WhenAll(Requests.Select(r => Decode(engine, r)))).ToList();
    }

    private static OnnxBatchingEngine Engine(string folder, int maxBatch, IKvMemory? kvMemory = null) =>
        CpuEngines.Create(folder, maxBatch, Requests.Length, kvMemory);

    private static Task<List<int>> Decode(OnnxBatchingEngine engine, (string Prompt, string Domain, int MaxNewTokens, bool IgnoreEnd) r) =>
        CpuEngines.DecodeAsync(engine, r.Prompt, r.Domain, r.MaxNewTokens, SamplingSettings.Greedy, 0, r.IgnoreEnd);
}
