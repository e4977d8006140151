using DesMoe.Tests.Reference;
using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Files;
using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Protos.V1;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Server;

/// <summary>
/// The server as the README starts it, with no model configured: it serves the bundled base model (models/base-v2,
/// exported to ONNX on first start), without a domain label, token for token as the reference implementation decodes,
/// and an operator can add a domain to it live. (Tests of serving mechanics run on the string-skills model instead:
/// see <see cref="LoopbackServer"/>.)
/// </summary>
public class DefaultModelServerTests
{
    private static readonly string[] Prompts = ["the old house", "Define: a large body of salt water", "def add(a, b):"];
    private const int NewTokens = 16;

    [Fact]
    public async Task With_no_model_configured_the_server_serves_the_bundled_base_model_as_the_reference_decodes_it()
    {
        var expected = new List<long[]>();
        long parameters, end;
        using (var loaded = ModelFolder.Load(BundledModel.Folder))
        using (var reference = HubModelLoader.Load(BundledModel.Folder))
        using (NewDisposeScope())
        {
            parameters = loaded.Model.parameters().Sum(p => p.numel());
            end = loaded.Tokenizer.Special.End;
            foreach (var prompt in Prompts)
            {
                var ids = PromptFormat.EncodePrompt(loaded.Tokenizer, prompt).Select(i => (long)i).ToArray();
                var generated = DesMoe.Tests.Reference.GreedyDecoding.Generate(reference.Module, tensor(ids).unsqueeze(0), NewTokens);
                // The reference runs a fixed number of steps; a served request stops at the end token.
                expected.Add(generated[0].data<long>().Skip(ids.Length).TakeWhile(t => t != end).ToArray());
            }
        }

        using var data = new TempDirectory();
        await using var server = await LoopbackServer.StartAsync(data.Path, LoopbackServer.BundledBaseModel);

        var info = await server.Client.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.Equal((ulong)parameters, info.Parameters);
        Assert.Contains("deepseek_v2", info.ConfigJson);
        Assert.Equal(384u, info.MaxContextTokens); // the model's own length: below the server's default cap
        for (int i = 0; i < Prompts.Length; i++)
        {
            var response = await server.Client.GenerateAsync(new GenerateRequest { Text = Prompts[i], MaxNewTokens = NewTokens });
            Assert.Equal(expected[i], response.TokenIds.Select(t => (long)t).Where(t => t != end));
            Assert.Equal(expected[i].Length < NewTokens ? FinishReason.EndOfText : FinishReason.Length, response.FinishReason);
        }
    }

    [Fact]
    public async Task An_operator_adds_a_domain_to_the_bundled_base_model_live()
    {
        using var data = new TempDirectory();
        var split = DatasetSplit.Create(DomainCatalog.Get("intent"), 200, 20, seed: 3);
        await using var server = await LoopbackServer.StartAsync(data.Path, LoopbackServer.BundledBaseModel, "--DesMoe:Adaptation:GeneralEvalExamples=20");

        var job = await server.Admin.AddDomainAsync("intent", split.Train, split.Eval, steps: 20);
        var done = (await server.Admin.WatchToEndAsync(job.Id, TimeSpan.FromMinutes(6)))[^1];

        Assert.True(done.State == JobState.Succeeded, $"job ended {done.State}: {done.Message}");
        Assert.Equal("v0002", done.ResultVersion);
        var served = await server.Client.GenerateAsync(new GenerateRequest { Text = split.Eval[0].Prompt, Domain = "intent", MaxNewTokens = 4 });
        Assert.Equal("v0002", served.ModelVersion);
    }
}
