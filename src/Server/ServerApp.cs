using DesMoe.Core.Checkpoints;
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
            var options = sp.GetRequiredService<ServerOptions>();
            if (options.Threads > 0) TorchSharp.torch.set_num_threads(options.Threads);
            var path = string.IsNullOrWhiteSpace(options.ModelPath) ? BundledModel.Folder : options.ModelPath;
            var engine = new TorchSharpEngine(path);
            sp.GetRequiredService<ILogger<TorchSharpEngine>>().LogInformation(
                "Serving {Model} (version {Version}, {Parameters:N0} parameters) on {Provider}",
                engine.ModelPath, engine.ModelVersion, engine.ParameterCount, engine.ExecutionProvider);
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
