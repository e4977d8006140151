using AdaptationClient = DesMoe.Protos.V1.Adaptation.AdaptationClient;
using DesMoe.Formats.Files;
using DesMoe.Protos.V1;
using DesMoe.Server;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>
/// The real server (Kestrel, HTTP/2) on a free loopback port over a given data directory, with gRPC clients. It serves
/// the string-skills model (models/base) unless the arguments name another: tests of serving mechanics assert answers
/// that model is known to give, and it exports in seconds. <see cref="BundledBaseModel"/> selects the product default.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    public const string AdminToken = "test-admin-token";

    /// <summary>The string-skills model, overridden by any model path the caller's arguments give (the last one wins).</summary>
    public static string StringSkillsModel => $"--DesMoe:ModelPath={BundledModel.StringSkillsFolder}";

    /// <summary>No model path: the server's own default, the bundled base model (models/base-v2).</summary>
    public const string BundledBaseModel = "--DesMoe:ModelPath=";

    private LoopbackServer(WebApplication app, string address, string metricsAddress, string httpAddress)
    {
        App = app;
        Address = address;
        MetricsAddress = metricsAddress;
        HttpAddress = httpAddress;
        Channel = GrpcChannel.ForAddress(address);
        Client = new Inference.InferenceClient(Channel);
        Admin = new AdaptationClient(Channel);
    }

    public WebApplication App { get; }
    public string Address { get; }

    /// <summary>The HTTP/1.1 endpoint serving /metrics.</summary>
    public string MetricsAddress { get; }

    /// <summary>The HTTP/1.1 endpoint of the OpenAI-compatible API (<c>{HttpAddress}/v1/...</c>).</summary>
    public string HttpAddress { get; }
    public GrpcChannel Channel { get; }
    public Inference.InferenceClient Client { get; }
    public AdaptationClient Admin { get; }

    /// <summary>Call options carrying the admin bearer token.</summary>
    public static CallOptions AsAdmin(CancellationToken cancellation = default) =>
        new(new Metadata { { "authorization", $"Bearer {AdminToken}" } }, cancellationToken: cancellation);

    public static Task<LoopbackServer> StartAsync(string dataDirectory, params string[] arguments) => StartAsync(dataDirectory, null, arguments);

    public static async Task<LoopbackServer> StartAsync(string dataDirectory, Action<WebApplicationBuilder>? configure, params string[] arguments)
    {
        // The metrics and HTTP ports are picked free and bound a moment later; another test's server can take one in
        // between, so a start that finds its port taken tries again with new ones.
        for (int attempt = 1; ; attempt++)
        {
            var metrics = $"http://127.0.0.1:{FreePort()}";
            var http = $"http://127.0.0.1:{FreePort()}";
            var app = ServerApp.Build(["--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:0", $"--Kestrel:Endpoints:Metrics:Url={metrics}",
                $"--Kestrel:Endpoints:Http:Url={http}",
                "--DesMoe:MaxNewTokensLimit=200", "--Logging:LogLevel:Default=Warning",
                $"--DesMoe:DataDirectory={dataDirectory}", $"--DesMoe:Adaptation:AdminToken={AdminToken}", StringSkillsModel, .. arguments], configure);
            try
            {
                await app.StartAsync();
            }
            catch (IOException e) when (attempt < 3 && e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                await app.DisposeAsync();
                continue;
            }
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single(a => a != metrics && a != http);
            Assert.StartsWith("http://127.0.0.1:", address);
            return new LoopbackServer(app, address, metrics, http);
        }
    }

    internal static int FreePort() => DesMoe.Server.LoopbackPort.Free();

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
