using DesMoe.Protos.V1;
using DesMoe.Server;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>The real server (Kestrel, HTTP/2) on a free loopback port, serving the bundled model.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public GrpcChannel Channel { get; private set; } = null!;
    public Inference.InferenceClient Client { get; private set; } = null!;
    public string Address { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _app = ServerApp.Build(["--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:0", "--DesMoe:MaxNewTokensLimit=200", "--Logging:LogLevel:Default=Warning"]);
        await _app.StartAsync();
        Address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Assert.StartsWith("http://127.0.0.1:", Address);
        Channel = GrpcChannel.ForAddress(Address);
        Client = new Inference.InferenceClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
