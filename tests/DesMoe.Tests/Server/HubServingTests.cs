using DesMoe.Formats.Architectures;
using DesMoe.Formats.Hub;
using DesMoe.Tests.Reference;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Safetensors;
using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Protos.V1;
using DesMoe.Tests.Architectures;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Server;

/// <summary>
/// The real server started on a hub checkpoint folder (exported to ONNX on start), generating greedily; the reference
/// is the transformers-faithful hub module (the implementation the fixture parity tests hold to transformers).
/// </summary>
public class HubServingTests
{
    /// <summary>Each architecture, served from its hub folder (exported by the server on start) and from an export made beforehand.</summary>
    public static TheoryData<string, bool> Models
    {
        get
        {
            var cases = new TheoryData<string, bool>();
            foreach (var model in HubTrainableTests.TrainableModels) cases.Add(model, false);
            cases.Add("qwen2_moe", true);
            cases.Add("mixtral", true);
            return cases;
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Served_greedy_tokens_equal_the_reference_implementation(string model, bool servedFromExport)
    {
        using var data = new TempDirectory();
        var folder = data.File("model");
        HubFixtures.CopyFolder(model, folder);
        const string Prompt = "the quick brown fox";
        const int NewTokens = 12;

        long[] expected;
        using (var loaded = ModelFolder.Load(folder))
        using (var reference = HubModelLoader.Load(folder))
        using (NewDisposeScope())
        {
            var ids = PromptFormat.EncodePrompt(loaded.Tokenizer, Prompt).Select(i => (long)i).ToArray();
            var generated = DesMoe.Tests.Reference.GreedyDecoding.Generate(reference.Module, tensor(ids).unsqueeze(0), NewTokens);
            expected = generated[0].data<long>().Skip(ids.Length).ToArray();
        }

        var served = servedFromExport
            ? DesMoe.Exporter.Export.ModelExporter.Export(folder, data.File("onnx"), new DesMoe.Exporter.Graph.ExportOptions()).OutputFolder
            : folder;
        await using var server = await LoopbackServer.StartAsync(data.File("server"), $"--DesMoe:ModelPath={served}");
        var response = await server.Client.GenerateAsync(new GenerateRequest { Text = Prompt, MaxNewTokens = NewTokens, IgnoreEndOfText = true });

        Assert.Equal(expected, response.TokenIds.Select(t => (long)t));
        Assert.Equal(FinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task AddDomain_on_a_served_hub_model_trains_exports_and_hot_swaps_a_version_saved_in_the_hub_layout()
    {
        using var data = new TempDirectory();
        var folder = data.File("model");
        HubFixtures.CopyFolder("qwen2_moe", folder);
        var split = DatasetSplit.Create(DomainCatalog.Get("intent"), 200, 20, seed: 3);
        await using var server = await LoopbackServer.StartAsync(data.File("server"), $"--DesMoe:ModelPath={folder}",
            "--DesMoe:Adaptation:GeneralEvalExamples=20");

        var job = await server.Admin.AddDomainAsync("intent", split.Train, split.Eval, steps: 20);
        var done = (await server.Admin.WatchToEndAsync(job.Id, TimeSpan.FromMinutes(4)))[^1];

        Assert.True(done.State == JobState.Succeeded, $"job ended {done.State}: {done.Message}");
        Assert.Equal("v0002", done.ResultVersion);
        Assert.Equal(["intent"], (await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains.Select(d => d.Name));
        var served = await server.Client.GenerateAsync(new GenerateRequest { Text = split.Eval[0].Prompt, Domain = "intent", MaxNewTokens = 4 });
        Assert.Equal("v0002", served.ModelVersion);

        // The new version's weights are a qwen2_moe checkpoint under the original tensor names, with its assignment beside it.
        var versionModel = Directory.GetDirectories(data.File("server"), "model", SearchOption.AllDirectories)
            .Single(d => d.Contains(Path.Combine("versions", "v0002")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(folder, HubFolder.ConfigFileName)), File.ReadAllBytes(Path.Combine(versionModel, HubFolder.ConfigFileName)));
        Assert.Equal(new SafetensorsFile(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName)).Tensors.Keys.Order(),
            new SafetensorsFile(Path.Combine(versionModel, SafetensorsCheckpoint.SingleFileName)).Tensors.Keys.Order());
        Assert.True(File.Exists(Path.Combine(versionModel, global::DesMoe.Formats.Experts.ExpertAssignment.FileName)));
        // The domain's expert copies, which config.json cannot describe, beside it in DES-MoE's side files.
        Assert.True(File.Exists(Path.Combine(versionModel, HubModelFolder.ExpertCopiesFileName)));
        Assert.Contains("domain_expert_copies", File.ReadAllText(Path.Combine(versionModel, HubModelFolder.SideConfigFileName)));
    }
}
