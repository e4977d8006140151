using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DesMoe.Server.Telemetry;

/// <summary>
/// The server's OpenTelemetry sources: spans for queueing, prefill, decode and adaptation job phases, and the
/// metrics dashboards read (exported over OTLP when configured and scraped at <c>/metrics</c>). Names follow the
/// OpenTelemetry conventions; the Prometheus exporter turns e.g. <c>desmoe.requests</c> into <c>desmoe_requests_total</c>.
/// </summary>
public static class ServerTelemetry
{
    public const string Name = "DesMoe.Server";

    public static readonly ActivitySource Traces = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Requests = Meter.CreateCounter<long>("desmoe.requests", "{request}",
        "Finished generation requests by method, domain and gRPC status");
    public static readonly Counter<long> TokensGenerated = Meter.CreateCounter<long>("desmoe.tokens.generated", "{token}",
        "Completion tokens generated, by domain");
    public static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram("desmoe.time_to_first_token", "s",
        "From the request's arrival to its first generated token", advice: LatencyBuckets);
    public static readonly Histogram<double> InterTokenLatency = Meter.CreateHistogram("desmoe.inter_token_latency", "s",
        "Between consecutive tokens of one request", advice: LatencyBuckets);
    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram("desmoe.batch.size", "{sequence}",
        "Sequences decoded together in one batched step", advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });

    public static readonly Counter<long> DomainInferences = Meter.CreateCounter<long>("desmoe.domain.inferences", "{request}",
        "Requests without a domain whose domain the server inferred: by the likeliest class (candidate) and whether it routed by it");
    public static readonly Histogram<double> DomainConfidence = Meter.CreateHistogram("desmoe.domain.confidence", "1",
        "Vote share of the likeliest class for requests whose domain the server inferred",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] });

    public static readonly Counter<long> ExpertSelections = Meter.CreateCounter<long>("desmoe.expert.selections", "{selection}",
        "Top-k router selections of each routed expert by domain and MoE layer, after domain routing: the live specificity matrix");

    private static InstrumentAdvice<double> LatencyBuckets => new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    /// <summary>
    /// Starts a span under <paramref name="parent"/> (e.g. a request's span, captured on another thread) without
    /// making it the current activity of the calling thread.
    /// </summary>
    public static Activity? StartChild(string name, ActivityContext parent, ActivityKind kind = ActivityKind.Internal)
    {
        var previous = Activity.Current;
        var activity = Traces.StartActivity(name, kind, parent);
        Activity.Current = previous;
        return activity;
    }

    /// <summary>Tag value for a request without a domain.</summary>
    public static string DomainTag(string? domain) => string.IsNullOrEmpty(domain) ? "none" : domain;
}
