using System.Text;
using Google.Protobuf;
using Grpc.Core;

namespace DesMoe.Server.Services;

/// <summary>
/// Binds the generated services with request deserializers that turn a malformed message (truncated bytes, a string
/// field holding invalid UTF-8) into INVALID_ARGUMENT naming the parse error. grpc-dotnet deserializes a request
/// before any handler or interceptor runs and reports a parser's exception as UNKNOWN "Exception was thrown by
/// handler", which tells the client nothing. Used through <c>[BindServiceMethod]</c> on each service class, which
/// grpc-dotnet prefers to the attribute on the generated base.
/// </summary>
public static class ParseErrorBinding
{
    // The second parameter is the generated base: grpc-dotnet finds the handlers as overrides of its methods.
    public static void BindInference(ServiceBinderBase binder, Protos.V1.Inference.InferenceBase service) =>
        Protos.V1.Inference.BindService(new Binder(binder), service);

    public static void BindAdaptation(ServiceBinderBase binder, Protos.V1.Adaptation.AdaptationBase service) =>
        Protos.V1.Adaptation.BindService(new Binder(binder), service);

    private sealed class Binder(ServiceBinderBase inner) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Checked(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Checked(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Checked(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Checked(method), handler);
    }

    private static Method<TRequest, TResponse> Checked<TRequest, TResponse>(Method<TRequest, TResponse> method)
    {
        var deserialize = method.RequestMarshaller.ContextualDeserializer;
        var requests = new Marshaller<TRequest>(method.RequestMarshaller.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or DecoderFallbackException)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{method.Name}: the request is not a valid {typeof(TRequest).Name} message: {e.Message}"));
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, requests, method.ResponseMarshaller);
    }
}
