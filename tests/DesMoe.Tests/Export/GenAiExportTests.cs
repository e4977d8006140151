using System.Text.Json;
using DesMoe.Bench.Peer;
using DesMoe.Formats.Config;
using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Onnx;
using DesMoe.Formats.Tokenization;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Exporter.Onnx.Schema;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace DesMoe.Tests.Export;

/// <summary>
/// The export's <c>genai_config.json</c> in ONNX Runtime GenAI 0.18 (in-process, CPU): its fields, and greedy output
/// equal to ours on the no-domain path, one stream and right-padded batches. The fixture's model has two domains, so
/// the no-domain path differs from a routed one and agreement is not an accident of routing.
/// </summary>
public sealed class GenAiExportTests(ExportFixture fixture) : IClassFixture<ExportFixture>
{
    private const int NewTokens = 24;

    public static TheoryData<ExpertKernel> Kernels => new(Enum.GetValues<ExpertKernel>());

    private static ITextTokenizer Tokenizer(string folder) => TokenizerFile.Load(Path.Combine(folder, TokenizerFile.FileName));

    /// <summary>General-set prompts plus a one-character and a longer one, so a batch pads rows by different amounts.</summary>
    private static List<string> PromptTexts() => [.. GeneralSet.HeldOut(4).Select(e => e.Prompt), "x", "a much longer prompt about the law of the land"];

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Genai_config_matches_the_model_config_the_tokenizer_and_the_graph_names(ExpertKernel kernel)
    {
        var folder = fixture.Exports[kernel].OutputFolder;
        var config = MoeConfig.Load(Path.Combine(folder, MoeConfig.FileName));
        var special = Tokenizer(folder).Special;
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, GenAiConfig.FileName)));
        var model = json.RootElement.GetProperty("model");
        var decoder = model.GetProperty("decoder");

        Assert.Equal("llama", model.GetProperty("type").GetString());
        Assert.Equal(config.VocabSize, model.GetProperty("vocab_size").GetInt32());
        Assert.Equal(config.MaxPositions, model.GetProperty("context_length").GetInt32());
        Assert.Equal(special.Begin, model.GetProperty("bos_token_id").GetInt32());
        Assert.Equal(special.End, model.GetProperty("eos_token_id").GetInt32());
        Assert.Equal(special.Pad, model.GetProperty("pad_token_id").GetInt32());
        Assert.Equal(OnnxNames.ModelFileName, decoder.GetProperty("filename").GetString());
        Assert.Equal(config.HiddenSize, decoder.GetProperty("hidden_size").GetInt32());
        Assert.Equal(config.HeadDim, decoder.GetProperty("head_size").GetInt32());
        Assert.Equal(config.NumHeads, decoder.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(config.NumKvHeads, decoder.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal(config.NumLayers, decoder.GetProperty("num_hidden_layers").GetInt32());
        Assert.False(json.RootElement.GetProperty("search").GetProperty("past_present_share_buffer").GetBoolean());
        Assert.Equal(config.MaxPositions, json.RootElement.GetProperty("search").GetProperty("max_length").GetInt32());

        // Every name GenAI will use, expanded per layer as it does, is one the ONNX Runtime session reports.
        using var session = new InferenceSession(fixture.Exports[kernel].ModelPath);
        IEnumerable<string> Expand(JsonElement section) => section.EnumerateObject().SelectMany(p => p.Value.GetString()!.Contains("%d")
            ? Enumerable.Range(0, config.NumLayers).Select(l => p.Value.GetString()!.Replace("%d", l.ToString()))
            : [p.Value.GetString()!]);
        var fed = Expand(decoder.GetProperty("inputs")).ToList();
        Assert.Equal(3 + 2 * config.NumLayers, fed.Count);
        Assert.All(fed, name => Assert.Contains(name, session.InputMetadata.Keys));
        Assert.All(Expand(decoder.GetProperty("outputs")), name => Assert.Contains(name, session.OutputMetadata.Keys));
        // What GenAI does not feed has a default: domain ids, which select the no-domain path.
        Assert.Empty(session.InputMetadata.Keys.Except(fed));
        Assert.Contains(OnnxNames.DomainIds, session.OverridableInitializerMetadata.Keys);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Genai_greedy_tokens_equal_onnx_runtime_on_the_no_domain_path_and_not_on_a_routed_one(ExpertKernel kernel)
    {
        var export = fixture.Exports[kernel];
        var tokenizer = Tokenizer(export.OutputFolder);
        var prompts = PromptTexts().Select(t => (IReadOnlyList<int>)PromptFormat.EncodePrompt(tokenizer, t)).ToList();
        using var peer = new GenAiPeer(export.OutputFolder);
        using var decoder = OnnxDecoder.Load(export.ModelPath, new OnnxSessionSettings { Provider = ExecutionProviderPreference.Cpu });

        var genAi = prompts.Select(p => peer.Generate(p, NewTokens).Tokens[0]).ToList();
        var plain = OnnxGreedyDecoder.Generate(decoder, tokenizer.Special, prompts, NewTokens, ExpertAssignment.NoDomain);
        var math = OnnxGreedyDecoder.Generate(decoder, tokenizer.Special, prompts, NewTokens, domainId: 0);

        // Ours stops at the end token; GenAI is kept from choosing it, so up to there the two must agree exactly.
        for (int p = 0; p < prompts.Count; p++)
            Assert.Equal(plain[p], genAi[p].Take(plain[p].Count));
        Assert.All(genAi, g => Assert.Equal(NewTokens, g.Count));
        Assert.Contains(plain, r => r.Count >= 4);
        Assert.Contains(Enumerable.Range(0, prompts.Count), p => !genAi[p].Take(math[p].Count).SequenceEqual(math[p]));
    }

    [Fact]
    public async Task Genai_right_padded_batches_and_single_streams_equal_our_server_on_every_prompt()
    {
        var folder = fixture.Exports[ExpertKernel.ContribMoe].OutputFolder;
        var tokenizer = Tokenizer(folder);
        var texts = PromptTexts();
        var full = texts.Select(t => (IReadOnlyList<int>)PromptFormat.EncodePrompt(tokenizer, t)).ToList();
        using var peer = new GenAiPeer(folder);
        var single = GenAiRuns.SingleStream(peer, full, NewTokens);
        var batchOfAll = GenAiRuns.Batched(peer, full, NewTokens, full.Count);
        var batchesOfFour = GenAiRuns.Batched(peer, full, NewTokens, 4);

        using var data = new TempDirectory();
        await using var server = await LoopbackServer.StartAsync(data.Path, $"--DesMoe:ModelPath={folder}", "--DesMoe:ExecutionProvider=Cpu", "--DesMoe:AutoDomain=false");
        var bare = texts.Select(t => tokenizer.Encode(t)).ToList();
        var ours = await ServerStreams.RunAsync(server.Client, bare, NewTokens, streams: 3, CancellationToken.None);

        Assert.Equal(full.Count, single.CompareTo(ours).Matched);
        Assert.Equal(full.Count, batchOfAll.CompareTo(ours).Matched);
        Assert.Equal(full.Count, batchesOfFour.CompareTo(ours).Matched);
        Assert.Equal(full.Count * NewTokens, ours.Tokens);
    }

    [Fact]
    public void A_prompt_ending_in_the_pad_token_is_refused_since_genai_would_take_it_for_padding()
    {
        var folder = fixture.Exports[ExpertKernel.ContribMoe].OutputFolder;
        using var peer = new GenAiPeer(folder);
        var e = Assert.Throws<ArgumentException>(() => peer.GenerateBatch([[256, 104, 257], [256, 104, peer.PadTokenId]], 2));
        Assert.Contains($"pad token {peer.PadTokenId}", e.Message);
    }

    [Fact]
    public void The_export_logs_the_genai_config_and_a_folder_without_one_is_refused_by_name()
    {
        using var dir = new TempDirectory();
        var lines = new List<string>();
        var result = ModelExporter.Export(DesMoe.Formats.Files.BundledModel.StringSkillsFolder, dir.File("onnx"), new ExportOptions(), lines.Add);
        Assert.Contains(lines, l => l.StartsWith($"wrote {GenAiConfig.FileName}: ONNX Runtime GenAI runs this folder on the no-domain path", StringComparison.Ordinal));

        File.Delete(Path.Combine(result.OutputFolder, GenAiConfig.FileName));
        var missing = Assert.Throws<FileNotFoundException>(() => new GenAiPeer(result.OutputFolder));
        Assert.Contains(GenAiConfig.FileName, missing.Message);
    }

    [Fact]
    public void A_graph_that_requires_an_input_genai_cannot_feed_gets_no_config_and_the_reason_names_it()
    {
        var config = TinyModels.Config();
        var special = new ByteTokenizer().Special;
        GraphProto Graph(bool domainDefault)
        {
            var graph = new GraphProto();
            foreach (var name in new[] { OnnxNames.InputIds, OnnxNames.AttentionMask, OnnxNames.PositionIds, OnnxNames.DomainIds }
                         .Concat(Enumerable.Range(0, config.NumLayers).SelectMany(l => new[] { OnnxNames.PastKey(l), OnnxNames.PastValue(l) })))
                graph.Input.Add(new ValueInfoProto { Name = name });
            foreach (var name in new[] { OnnxNames.Logits }.Concat(Enumerable.Range(0, config.NumLayers).SelectMany(l => new[] { OnnxNames.PresentKey(l), OnnxNames.PresentValue(l) })))
                graph.Output.Add(new ValueInfoProto { Name = name });
            if (domainDefault) graph.Initializer.Add(new TensorProto { Name = OnnxNames.DomainIds });
            return graph;
        }

        Assert.Null(GenAiConfig.Unsupported(Graph(domainDefault: true), config, special));
        var reason = GenAiConfig.Unsupported(Graph(domainDefault: false), config, special);
        Assert.NotNull(reason);
        Assert.Contains($"[{OnnxNames.DomainIds}] with no default", reason);

        var withoutLogits = Graph(domainDefault: true);
        withoutLogits.Output.RemoveAt(0);
        Assert.Contains($"no output '{OnnxNames.Logits}'", GenAiConfig.Unsupported(withoutLogits, config, special));
        Assert.Contains("pad token id", GenAiConfig.Unsupported(Graph(domainDefault: true), config, special with { Pad = special.Separator }));
    }

    [Fact]
    public void Layer_name_patterns_are_read_off_the_naming_code()
    {
        Assert.Equal("past_key_values.%d.key", GenAiConfig.LayerPattern(OnnxNames.PastKey));
        Assert.Equal("present.%d.value", GenAiConfig.LayerPattern(OnnxNames.PresentValue));
        var e = Assert.Throws<InvalidOperationException>(() => GenAiConfig.LayerPattern(l => l == 0 ? "first" : $"layer.{l}"));
        Assert.Contains("'first'", e.Message);
    }
}
