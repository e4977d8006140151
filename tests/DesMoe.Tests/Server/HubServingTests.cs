using DesMoe.Core.Architectures.Hub;
using DesMoe.Core.Checkpoints;
using DesMoe.Core.Tokenization;
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
    public static TheoryData<string> Models => new(HubTrainableTests.TrainableModels);

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Served_greedy_tokens_equal_the_reference_implementation(string model)
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
            var generated = DesMoe.Core.Architectures.Common.GreedyDecoding.Generate(reference.Module, tensor(ids).unsqueeze(0), NewTokens);
            expected = generated[0].data<long>().Skip(ids.Length).ToArray();
        }

        await using var server = await LoopbackServer.StartAsync(data.File("server"), $"--DesMoe:ModelPath={folder}");
        var response = await server.Client.GenerateAsync(new GenerateRequest { Text = Prompt, MaxNewTokens = NewTokens, IgnoreEndOfText = true });

        Assert.Equal(expected, response.TokenIds.Select(t => (long)t));
        Assert.Equal(FinishReason.Length, response.FinishReason);
    }
}
