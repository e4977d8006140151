using DesMoe.Protos.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace DesMoe.Server.Telemetry;

/// <summary>
/// Measures every generation RPC (a <see cref="GenerateRequest"/>, unary or streamed) around the service method: the
/// request's <see cref="RequestMetrics"/> is made here, reachable from the service through
/// <see cref="RequestMetrics.Of"/> for what only it knows (the domain it routed to, each token), and finished here
/// with the gRPC status the call ends with. The services stay free of measurement code.
/// </summary>
public sealed class RequestMetricsInterceptor(ILogger<RequestMetricsInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) =>
        request is GenerateRequest generate
            ? Start(context, generate).Run(_ => continuation(request, context))
            : continuation(request, context);

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        request is GenerateRequest generate
            ? Start(context, generate).Run(_ => continuation(request, responseStream, context))
            : continuation(request, responseStream, context);

    private RequestMetrics Start(ServerCallContext context, GenerateRequest request)
    {
        // "/desmoe.v1.Inference/GenerateStream" -> "GenerateStream", the label the dashboards group by.
        var method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        var metrics = new RequestMetrics(method, request.Domain, logger);
        context.UserState[RequestMetrics.UserStateKey] = metrics;
        return metrics;
    }
}
