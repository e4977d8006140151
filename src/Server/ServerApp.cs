using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using DesMoe.Server.Services;
using Grpc.Health.V1;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace DesMoe.Server;

/// <summary>Builds the gRPC server; used by Program and by end-to-end tests that start it on a loopback port.</summary>
public static class ServerApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.Configure<ServerOptions>(builder.Configuration.GetSection(ServerOptions.Section));
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<ServerOptions>>().Value);
        builder.Services.AddSingleton<IGenerationEngine>(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("DesMoe.Engine");
            var engine = EngineFactory.Create(sp.GetRequiredService<ServerOptions>(), logger);
            logger.LogInformation("Serving {Model} (version {Version}, {Parameters:N0} parameters, domains [{Domains}]) on {Provider}",
                engine.ModelPath, engine.ModelVersion, engine.ParameterCount, string.Join(", ", engine.Domains), engine.ExecutionProvider);
            return engine;
        });
        builder.Services.AddSingleton<RequestValidator>();
        builder.Services.AddGrpc(o => o.EnableDetailedErrors = false);
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks().AddCheck("model", () => HealthCheckResult.Healthy());

        var app = builder.Build();
        // Load the model before accepting traffic so the first request does not pay for it and a bad path fails fast.
        _ = app.Services.GetRequiredService<IGenerationEngine>();
        app.MapGrpcService<InferenceService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }
}
