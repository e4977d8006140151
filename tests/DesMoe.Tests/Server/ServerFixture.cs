using AdaptationClient = DesMoe.Protos.V1.Adaptation.AdaptationClient;
using DesMoe.Protos.V1;
using DesMoe.Server.Engine;
using DesMoe.Server.Versions;
using DesMoe.Tests.Support;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>The real server on a free loopback port, serving the bundled model, shared by a test class.</summary>
public class ServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private LoopbackServer? _server;

    /// <summary>The server's data directory, removed with the fixture.</summary>
    protected TempDirectory Data => _data;

    /// <summary>Configuration a derived fixture adds, e.g. a small queue.</summary>
    protected virtual string[] ExtraArguments => [];

    public LoopbackServer Server => _server!;
    public WebApplication App => Server.App;
    public GrpcChannel Channel => Server.Channel;
    public Inference.InferenceClient Client => Server.Client;
    public AdaptationClient Admin => Server.Admin;
    public string Address => Server.Address;

    /// <summary>The engine of the version in service now.</summary>
    public IGenerationEngine CurrentEngine
    {
        get
        {
            using var lease = App.Services.GetRequiredService<ModelHost>().Acquire();
            return lease.Engine;
        }
    }

    public async Task InitializeAsync() => _server = await LoopbackServer.StartAsync(_data.Path, ExtraArguments);

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _data.Dispose();
    }
}
