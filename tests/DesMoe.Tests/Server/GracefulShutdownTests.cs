using DesMoe.Protos.V1;
using DesMoe.Tests.Support;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Server;

public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task Streams_in_flight_when_the_server_stops_finish_whole_and_later_calls_are_refused()
    {
        using var data = new TempDirectory();
        var server = await LoopbackServer.StartAsync(data.Path);
        var calls = Enumerable.Range(0, 4).Select(i => server.Client.GenerateStream(new GenerateRequest
        {
            Text = $"copy stream{i}", MaxNewTokens = 120, IgnoreEndOfText = true,
        })).ToList();
        foreach (var call in calls) Assert.True(await call.ResponseStream.MoveNext()); // all four are decoding

        var stopping = server.App.StopAsync();
        foreach (var call in calls)
        {
            int tokens = call.ResponseStream.Current.TokenIds.Count;
            var finish = FinishReason.Unspecified;
            while (await call.ResponseStream.MoveNext())
            {
                tokens += call.ResponseStream.Current.TokenIds.Count;
                if (call.ResponseStream.Current.FinishReason != FinishReason.Unspecified) finish = call.ResponseStream.Current.FinishReason;
            }
            Assert.Equal(FinishReason.Length, finish);
            Assert.Equal(120, tokens);
            call.Dispose();
        }
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.GenerateAsync(new GenerateRequest { Text = "copy late" }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        await server.DisposeAsync();
    }
}
