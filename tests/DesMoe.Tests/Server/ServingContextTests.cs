using DesMoe.Formats.Config;
using DesMoe.Protos.V1;
using DesMoe.Server.Engine;
using DesMoe.Tests.Support;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>The served context window: what the KV slots are allocated for and what a request may use.</summary>
public class ServingContextTests
{
    private static MoeConfig WithPositions(int positions) => MoeConfig.Small(260) with { MaxPositions = positions };

    [Fact]
    public void The_window_is_the_models_length_up_to_the_cap_or_what_the_operator_asks_for()
    {
        Assert.Equal(160, ServingContext.Window(WithPositions(160), 0));
        Assert.Equal(ServingContext.DefaultCap, ServingContext.Window(WithPositions(163_840), 0)); // DeepSeek-V2-Lite's
        Assert.Equal(32_768, ServingContext.Window(WithPositions(163_840), 32_768));
        Assert.Equal(100, ServingContext.Window(WithPositions(160), 100));
        var over = Assert.Throws<ArgumentException>(() => ServingContext.Window(WithPositions(160), 200));
        Assert.Equal("DesMoe:MaxContextTokens 200 is over the model's max_position_embeddings (160)", over.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ServingContext.Window(WithPositions(160), -1));
    }

    [Fact]
    public async Task A_smaller_window_is_reported_and_a_prompt_beyond_it_is_refused_by_name()
    {
        using var data = new TempDirectory();
        await using var server = await LoopbackServer.StartAsync(data.Path, "--DesMoe:MaxContextTokens=48");

        var info = await server.Client.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.Equal(48u, info.MaxContextTokens);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.GenerateAsync(new GenerateRequest { Text = new string('a', 60) }));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("the prompt is 62 tokens (with control tokens) but the served context is 48 tokens", error.Status.Detail);
        // A request that fits is served, its generation cut at the window.
        var response = await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse abc", MaxNewTokens = 100, IgnoreEndOfText = true });
        Assert.Equal(48u, response.Usage.PromptTokens + response.Usage.CompletionTokens);
    }
}
