using DesMoe.Protos.V1;
using DesMoe.Server;
using DesMoe.Server.Engine;
using DesMoe.Server.Serving;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>The real server (Kestrel, HTTP/2) on a free loopback port, serving the bundled model.</summary>
public class ServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new();

    /// <summary>The server's data directory, removed with the fixture.</summary>
    protected TempDirectory Data => _data;
    private WebApplication? _app;

    public GrpcChannel Channel { get; private set; } = null!;
    public Inference.InferenceClient Client { get; private set; } = null!;
    public string Address { get; private set; } = "";

    /// <summary>Configuration a derived fixture adds, e.g. a small queue.</summary>
    protected virtual string[] ExtraArguments => [];

    public WebApplication App => _app!;

    /// <summary>The engine of the version in service now.</summary>
    public IGenerationEngine CurrentEngine
    {
        get
        {
            using var lease = App.Services.GetRequiredService<ModelHost>().Acquire();
            return lease.Engine;
        }
    }

    public async Task InitializeAsync()
    {
        _app = ServerApp.Build(["--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:0", "--DesMoe:MaxNewTokensLimit=200", "--Logging:LogLevel:Default=Warning",
            $"--DesMoe:DataDirectory={_data.Path}", .. ExtraArguments]);
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
        _data.Dispose();
    }
}
