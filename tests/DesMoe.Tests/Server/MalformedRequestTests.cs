using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>Requests a hand-written or broken client can send: every one is refused with INVALID_ARGUMENT and a reason, none queues work.</summary>
public sealed class MalformedRequestTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly Marshaller<byte[]> Raw = new(bytes => bytes, bytes => bytes);

    [Theory]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(0.5)]
    public async Task A_learning_rate_that_is_negative_not_finite_or_too_large_is_refused_and_no_job_is_queued(double learningRate)
    {
        var intent = DatasetSplit.Create(DomainCatalog.Get("intent"), 40, 8, seed: 1);
        using var call = server.Admin.AddDomain(LoopbackServer.AsAdmin());
        try
        {
            await call.RequestStream.WriteAsync(new AddDomainRequest { Header = new AddDomainHeader { Name = "intent", Budget = new TrainingBudget { LearningRate = learningRate } } });
            await call.RequestStream.WriteAsync(new AddDomainRequest { Train = AdaptationClientExtensions.Batch(intent.Train) });
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // refused before the upload ended; the status follows
        }
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("budget.learning_rate", error.Status.Detail);
        Assert.Empty((await server.Admin.ListJobsAsync(new ListJobsRequest())).Jobs);
    }

    [Fact]
    public async Task A_text_field_holding_invalid_utf8_is_invalid_argument_not_unknown()
    {
        // GenerateRequest.text is field 1, length-delimited: 0x0A, length, bytes. 0xC3 0x28 is not UTF-8.
        var error = await Assert.ThrowsAsync<RpcException>(() => Unary("Generate", [0x0A, 0x02, 0xC3, 0x28]));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("GenerateRequest", error.Status.Detail);
    }

    [Fact]
    public async Task A_truncated_message_is_invalid_argument_for_unary_and_streaming_calls()
    {
        var whole = new GenerateRequest { Text = "reverse hello", MaxNewTokens = 4 }.ToByteArray();
        var truncated = whole[..^3]; // the text field claims more bytes than follow

        var unary = await Assert.ThrowsAsync<RpcException>(() => Unary("Generate", truncated));
        Assert.Equal(StatusCode.InvalidArgument, unary.StatusCode);
        Assert.Contains("not a valid GenerateRequest", unary.Status.Detail);

        var streaming = new Method<byte[], byte[]>(MethodType.ServerStreaming, "desmoe.v1.Inference", "GenerateStream", Raw, Raw);
        using var stream = server.Channel.CreateCallInvoker().AsyncServerStreamingCall(streaming, null, new CallOptions(), truncated);
        var streamError = await Assert.ThrowsAsync<RpcException>(async () => { while (await stream.ResponseStream.MoveNext()) { } });
        Assert.Equal(StatusCode.InvalidArgument, streamError.StatusCode);

        var upload = new Method<byte[], byte[]>(MethodType.ClientStreaming, "desmoe.v1.Adaptation", "AddDomain", Raw, Raw);
        using var call = server.Channel.CreateCallInvoker().AsyncClientStreamingCall(upload, null, LoopbackServer.AsAdmin());
        try
        {
            await call.RequestStream.WriteAsync(new AddDomainRequest { Header = new AddDomainHeader { Name = "intent" } }.ToByteArray()[..^1]);
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
        }
        var uploadError = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, uploadError.StatusCode);

        // the server is unharmed
        Assert.Equal("olleh", (await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse hello" })).Text);
    }

    private Task<byte[]> Unary(string method, byte[] payload) =>
        server.Channel.CreateCallInvoker().AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, "desmoe.v1.Inference", method, Raw, Raw), null, new CallOptions(), payload).ResponseAsync;
}
