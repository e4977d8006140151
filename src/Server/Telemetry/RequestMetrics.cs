using System.Diagnostics;
using Grpc.Core;

namespace DesMoe.Server.Telemetry;

/// <summary>One generation request's measurements: time to first token, inter-token gaps, tokens, and its final status.</summary>
/// <remarks>Made and finished by <see cref="RequestMetricsInterceptor"/>; a service reaches the call's own with <see cref="Of"/>.</remarks>
public sealed class RequestMetrics(string method, string? domain, ILogger logger, string protocol = RequestMetrics.Grpc)
{
    internal const string UserStateKey = "desmoe.request-metrics";

    /// <summary>The <c>protocol</c> label: requests of the gRPC contract and of the OpenAI-compatible HTTP API.</summary>
    public const string Grpc = "grpc", Http = "http";

    private readonly KeyValuePair<string, object?> _protocol = Tagged(protocol);

    /// <summary>The request's span (gRPC's or the HTTP route's) carries the protocol too, as its metrics do.</summary>
    private static KeyValuePair<string, object?> Tagged(string protocol)
    {
        Activity.Current?.SetTag("desmoe.protocol", protocol);
        return new("protocol", protocol);
    }

    /// <summary>The call's metrics, which <see cref="RequestMetricsInterceptor"/> made for it.</summary>
    public static RequestMetrics Of(ServerCallContext context) =>
        context.UserState.TryGetValue(UserStateKey, out var metrics)
            ? (RequestMetrics)metrics
            : throw new InvalidOperationException($"{context.Method} has no request metrics: register {nameof(RequestMetricsInterceptor)} with the gRPC services");

    private readonly long _start = Stopwatch.GetTimestamp();
    private KeyValuePair<string, object?> _domain = new("domain", ServerTelemetry.DomainTag(domain));
    private long _last;
    private long _tokens;
    private bool _finished;

    /// <summary>Labels what follows with the domain the request is served on (an inferred one replaces the empty or "auto" it asked for).</summary>
    public void RoutedBy(string? domain) => _domain = new("domain", ServerTelemetry.DomainTag(domain));

    public void Token()
    {
        var now = Stopwatch.GetTimestamp();
        if (_last == 0) ServerTelemetry.TimeToFirstToken.Record(Stopwatch.GetElapsedTime(_start, now).TotalSeconds, _domain, _protocol);
        else ServerTelemetry.InterTokenLatency.Record(Stopwatch.GetElapsedTime(_last, now).TotalSeconds, _domain, _protocol);
        _last = now;
        _tokens++;
    }

    public void Finish(StatusCode status)
    {
        if (_finished) return;
        _finished = true;
        if (_tokens > 0) ServerTelemetry.TokensGenerated.Add(_tokens, _domain, _protocol);
        ServerTelemetry.Requests.Add(1, new KeyValuePair<string, object?>("method", method), _domain,
            new KeyValuePair<string, object?>("status", status.ToString()), _protocol);
        // One structured line per request; the log scope carries the request's trace and span ids.
        logger.LogDebug("{Method} domain={Domain} status={Status} tokens={Tokens} seconds={Seconds:F4} protocol={Protocol}",
            method, _domain.Value, status, _tokens, Stopwatch.GetElapsedTime(_start).TotalSeconds, protocol);
    }

    /// <summary>Runs a request without a result (a stream), recording the gRPC status it ends with.</summary>
    public Task Run(Func<RequestMetrics, Task> body) => Run<bool>(async metrics =>
    {
        await body(metrics);
        return true;
    });

    /// <summary>Runs the request, recording the gRPC status it ends with (OK, the RpcException's, or CANCELLED).</summary>
    public async Task<T> Run<T>(Func<RequestMetrics, Task<T>> body)
    {
        try
        {
            var result = await body(this);
            Finish(StatusCode.OK);
            return result;
        }
        catch (RpcException e)
        {
            Finish(e.StatusCode);
            throw;
        }
        catch (OperationCanceledException)
        {
            Finish(StatusCode.Cancelled);
            throw;
        }
        catch
        {
            Finish(StatusCode.Internal);
            throw;
        }
    }
}
