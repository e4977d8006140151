using System.Collections.Concurrent;
using DesMoe.Protos.V1;
using DesMoe.Server.Telemetry;
using DesMoe.Tests.Support;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace DesMoe.Tests.Server;

public sealed class RequestLogTests
{
    [Fact]
    public async Task A_requests_log_line_carries_the_trace_id_the_client_sent()
    {
        using var data = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        await using var server = await LoopbackServer.StartAsync(data.Path, builder => builder.Logging.AddProvider(logs),
            "--Logging:LogLevel:DesMoe.Server.Telemetry=Debug");

        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        var headers = new Metadata { { "traceparent", $"00-{traceId}-00f067aa0ba902b7-01" } };
        await server.Client.GenerateAsync(new GenerateRequest { Text = "copy trace", MaxNewTokens = 5, IgnoreEndOfText = true }, headers);

        var line = Assert.Single(logs.Entries, e => e.Category == typeof(RequestMetricsInterceptor).FullName && e.Message.StartsWith("Generate "));
        Assert.Contains("status=OK tokens=5", line.Message);
        Assert.Equal(traceId, line.Scope.GetValueOrDefault("TraceId")?.ToString());
        Assert.False(string.IsNullOrEmpty(line.Scope.GetValueOrDefault("SpanId")?.ToString()));
    }

    private sealed record Entry(string Category, string Message, Dictionary<string, object?> Scope);

    /// <summary>Keeps every log line with the key/value pairs of the scopes it was written in.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();
        public ConcurrentBag<Entry> Entries { get; } = [];

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;
        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
        public void Dispose() { }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);
            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scope = new Dictionary<string, object?>();
                owner._scopes.ForEachScope((s, into) =>
                {
                    if (s is IEnumerable<KeyValuePair<string, object?>> pairs)
                        foreach (var (key, value) in pairs) into[key] = value;
                }, scope);
                owner.Entries.Add(new Entry(category, formatter(state, exception), scope));
            }
        }
    }
}
