using DesMoe.Server.Options;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace DesMoe.Server.Security;

/// <summary>
/// The admin RPCs' two gates, before the service method runs: the admin credential (UNAUTHENTICATED without a bearer
/// token, PERMISSION_DENIED with a wrong one), then that this replica adapts (FAILED_PRECONDITION on a serving-only
/// replica). Every other RPC passes through untouched.
/// </summary>
public sealed class AdminInterceptor(AdminCredential admin, AdaptationSettings settings) : Interceptor
{
    /// <summary>The admin RPCs, by gRPC method path; an RPC that changes what is served belongs here.</summary>
    private static readonly IReadOnlySet<string> AdminMethods = new HashSet<string>(StringComparer.Ordinal)
    {
        "/desmoe.v1.Adaptation/AddDomain", "/desmoe.v1.Adaptation/CancelJob", "/desmoe.v1.Adaptation/Rollback", "/desmoe.v1.Adaptation/RemoveDomain",
    };

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Demand(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Demand(context);
        return continuation(requestStream, context);
    }

    private void Demand(ServerCallContext context)
    {
        if (!AdminMethods.Contains(context.Method)) return;
        var action = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        admin.Demand(context, action);
        if (!settings.Enabled)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"{action}: this replica only serves (DesMoe:Adaptation:Enabled=false); send admin calls to the adapting replica"));
    }
}
