using DesMoe.Formats.Files;
using DesMoe.Server.Jobs;
using DesMoe.Server.OpenAi;
using DesMoe.Server.Options;
using DesMoe.Server.Security;
using DesMoe.Server.Versions;
using DesMoe.Server.Requests;
using DesMoe.Server.Services;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using DesMoe.Server.Telemetry;

namespace DesMoe.Server;

/// <summary>Builds the server (gRPC, and the OpenAI-compatible HTTP API); used by Program and by end-to-end tests that start it on a loopback port.</summary>
public static class ServerApp
{
    /// <param name="configure">last changes to the builder (tests add in-memory log providers or exporters)</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.Configure<ServerOptions>(builder.Configuration.GetSection(ServerOptions.Section));
        builder.Services.Configure<AdaptationSettings>(builder.Configuration.GetSection(AdaptationSettings.Section));
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<ServerOptions>>().Value);
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<AdaptationSettings>>().Value);
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<ServerOptions>();
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("DesMoe.Store");
            var source = string.IsNullOrWhiteSpace(options.ModelPath) ? BundledModel.Folder : options.ModelPath;
            return ModelStore.Open(source, options.ResolvedDataDirectory(), line => logger.LogInformation("{Line}", line),
                sp.GetRequiredService<WorkerExport>().Export, owner: sp.GetRequiredService<AdaptationSettings>().Enabled);
        });
        builder.Services.AddSingleton(sp =>
        {
            var store = sp.GetRequiredService<ModelStore>();
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("DesMoe.Engine");
            var (engine, version) = StartupVersion.Load(store, sp.GetRequiredService<ServerOptions>(), logger);
            logger.LogInformation("Serving {Model} (version {Version}, {Parameters:N0} parameters, domains [{Domains}]) on {Provider}",
                engine.ModelPath, version.Id, engine.ParameterCount, string.Join(", ", engine.Domains), engine.ExecutionProvider);
            var host = new ModelHost(engine, version);
            host.Swapped += v => logger.LogInformation("Now serving version {Version} (domains [{Domains}])", v.Id, string.Join(", ", v.Domains));
            return host;
        });
        builder.Services.AddSingleton<WorkerLocator>();
        builder.Services.AddSingleton<WorkerExport>();
        builder.Services.AddSingleton(sp => new JobStore(sp.GetRequiredService<ModelStore>().JobsFolder));
        builder.Services.AddSingleton<AdaptationPipeline>();
        builder.Services.AddSingleton<RemovalPipeline>();
        builder.Services.AddSingleton<JobRunner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobRunner>());
        builder.Services.AddHostedService<VersionWatcher>();
        builder.Services.AddSingleton<AdminCredential>();
        builder.Services.AddSingleton<RequestValidator>();
        builder.Services.AddSingleton<UploadValidator>();
        builder.Services.AddSingleton<ServerGauges>();
        AddTelemetry(builder);
        builder.Services.AddGrpc(o =>
        {
            o.EnableDetailedErrors = false;
            o.Interceptors.Add<AdminInterceptor>();
            o.Interceptors.Add<RequestMetricsInterceptor>();
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddOpenAiApi(builder.Configuration);
        builder.Services.AddGrpcHealthChecks().AddCheck("model", () => HealthCheckResult.Healthy());

        configure?.Invoke(builder);
        var app = builder.Build();
        // Load the model before accepting traffic so the first request does not pay for it and a bad path fails fast.
        _ = app.Services.GetRequiredService<ModelHost>();
        _ = app.Services.GetRequiredService<AdminCredential>();
        _ = app.Services.GetRequiredService<ServerGauges>();
        _ = app.Services.GetRequiredService<ApiKeys>(); // a missing key file fails the start, not the first request
        LogAdaptationWorker(app.Services);
        app.MapGrpcService<InferenceService>();
        app.MapGrpcService<AdaptationService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapPrometheusScrapingEndpoint();
        app.MapOpenAiApi();
        return app;
    }

    /// <summary>Says at start-up whether this deployment adapts or serves only, and why (the worker is looked up again on every job).</summary>
    private static void LogAdaptationWorker(IServiceProvider services)
    {
        if (!services.GetRequiredService<AdaptationSettings>().Enabled) return;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("DesMoe.Adaptation");
        if (services.GetRequiredService<WorkerLocator>().Find(out var searched) is { } worker)
            logger.LogInformation("Adaptation worker: {Worker}", worker);
        else
            logger.LogWarning("{Reason}", WorkerLocator.ServingOnly("AddDomain is refused", searched));
    }

    /// <summary>
    /// Traces (every RPC, plus queue/prefill/decode and adaptation job phase spans) and metrics, exported over OTLP
    /// when the standard OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics scraped at /metrics (an HTTP/1.1 endpoint:
    /// Kestrel:Endpoints:Metrics). Log lines carry the trace and span ids.
    /// </summary>
    private static void AddTelemetry(WebApplicationBuilder builder)
    {
        bool otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("desmoe-server"))
            .WithTracing(t =>
            {
                t.AddSource(ServerTelemetry.Name).AddAspNetCoreInstrumentation();
                if (otlp) t.AddOtlpExporter();
            })
            .WithMetrics(m =>
            {
                m.AddMeter(ServerTelemetry.Name).AddAspNetCoreInstrumentation().AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            });
    }
}
