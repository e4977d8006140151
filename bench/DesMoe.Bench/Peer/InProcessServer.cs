using DesMoe.Server;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace DesMoe.Bench.Peer;

/// <summary>
/// Our server as deployed (Kestrel over HTTP/2, the continuous-batching ONNX engine on CPU) started inside this
/// process on a free loopback port, serving one exported folder in place from a throw-away data directory. Requests
/// still go through the generated gRPC client and the loopback socket, so the figures include what a client pays.
/// </summary>
public sealed class InProcessServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;

    private InProcessServer(WebApplication app, string address, string dataDirectory)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
    }

    public string Address { get; }
    public GrpcChannel Channel { get; }

    /// <summary>A lease on the model being served, whose engine can be driven without gRPC; dispose it when done.</summary>
    public DesMoe.Server.Versions.ModelLease AcquireModel() => _app.Services.GetRequiredService<DesMoe.Server.Versions.ModelHost>().Acquire();

    /// <param name="maxBatch">sequences decoded together; at least the most concurrent streams, so they all batch</param>
    /// <param name="ortSpinning">let ONNX Runtime's idle threads spin (the server's default is off)</param>
    /// <param name="threads">ONNX Runtime intra-op threads (0 = the server's default, by model size)</param>
    public static async Task<InProcessServer> StartAsync(string exportFolder, int maxBatch, bool ortSpinning, int threads = 0)
    {
        var data = Path.Combine(Path.GetTempPath(), $"desmoe-peer-{Guid.NewGuid():N}");
        var metrics = $"http://127.0.0.1:{DesMoe.Server.LoopbackPort.Free()}";
        var http = $"http://127.0.0.1:{DesMoe.Server.LoopbackPort.Free()}";
        WebApplication? app = null;
        try
        {
            app = ServerApp.Build([
                $"--DesMoe:ModelPath={Path.GetFullPath(exportFolder)}", $"--DesMoe:DataDirectory={data}",
                "--DesMoe:ExecutionProvider=Cpu", $"--DesMoe:MaxBatch={maxBatch}", $"--DesMoe:QueueSize={maxBatch}",
                $"--DesMoe:OrtSpinning={ortSpinning}", $"--DesMoe:Threads={threads}",
                // Every request names domain "none"; no classifier needs profiling at start-up.
                "--DesMoe:AutoDomain=false",
                "--Kestrel:EndpointDefaults:Protocols=Http2", "--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:0",
                $"--Kestrel:Endpoints:Metrics:Url={metrics}", "--Kestrel:Endpoints:Metrics:Protocols=Http1",
                $"--Kestrel:Endpoints:Http:Url={http}", "--Kestrel:Endpoints:Http:Protocols=Http1",
                // The bench prints its own lines; the server's start-up and worker notices would interleave with them.
                "--Logging:LogLevel:Default=Error",
            ]);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single(a => a != metrics && a != http);
            return new InProcessServer(app, address, data);
        }
        catch
        {
            if (app is not null) await app.DisposeAsync();
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (Directory.Exists(_dataDirectory)) Directory.Delete(_dataDirectory, recursive: true);
    }
}
