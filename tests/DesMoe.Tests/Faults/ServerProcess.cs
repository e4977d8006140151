using DesMoe.Tests.Support;
using System.Diagnostics;
using System.Text;
using DesMoe.Protos.V1;
using DesMoe.Tests.Server;
using DesMoe.WorkerProtocol;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using AdaptationClient = DesMoe.Protos.V1.Adaptation.AdaptationClient;

namespace DesMoe.Tests.Faults;

/// <summary>
/// The real server as a separate process (<c>dotnet DesMoe.Server.dll</c>) over a data directory, so a test can
/// <c>kill -9</c> it at a chosen moment. Fault points (<see cref="FaultPoints"/>) are set through its environment;
/// a halted point is reported by a marker file the test waits for.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, string address, string metrics, string markers)
    {
        _process = process;
        Address = address;
        MetricsAddress = metrics;
        Markers = markers;
        Channel = GrpcChannel.ForAddress(address);
        Client = new Inference.InferenceClient(Channel);
        Admin = new AdaptationClient(Channel);
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Address { get; }
    public string MetricsAddress { get; }
    public string Markers { get; }
    public GrpcChannel Channel { get; }
    public Inference.InferenceClient Client { get; }
    public AdaptationClient Admin { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>What the server printed so far (stdout and stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <param name="faults">fault point environment, e.g. <c>{ [FaultPoints.HaltVariable] = FaultPoints.WorkerTraining }</c></param>
    public static ServerProcess Launch(string dataDirectory, IReadOnlyDictionary<string, string>? faults = null, params string[] arguments) =>
        LaunchAssembly(Path.Combine(AppContext.BaseDirectory, "DesMoe.Server.dll"), dataDirectory, faults, arguments);

    /// <summary>Launches the server whose assembly is <paramref name="serverAssembly"/> (e.g. in a publish folder).</summary>
    public static ServerProcess LaunchAssembly(string serverAssembly, string dataDirectory, IReadOnlyDictionary<string, string>? faults, params string[] arguments)
    {
        var port = LoopbackServer.FreePort();
        var metrics = $"http://127.0.0.1:{LoopbackServer.FreePort()}";
        var markers = Path.Combine(dataDirectory, "fault-markers");
        Directory.CreateDirectory(markers);
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[serverAssembly, $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{port}",
                     $"--Kestrel:Endpoints:Metrics:Url={metrics}", "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0", // unused here: the OS picks it at bind, no port to race for
                     $"--DesMoe:DataDirectory={dataDirectory}",
                     $"--DesMoe:Adaptation:AdminToken={LoopbackServer.AdminToken}", "--DesMoe:Adaptation:GeneralEvalExamples=60",
                     "--Logging:LogLevel:Default=Warning", LoopbackServer.StringSkillsModel, .. arguments])
            start.ArgumentList.Add(a);
        start.Environment[FaultPoints.MarkersVariable] = markers;
        foreach (var (name, value) in faults ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server process");
        return new ServerProcess(process, $"http://127.0.0.1:{port}", metrics, markers);
    }

    /// <summary>Launches the server and waits until its health check answers SERVING.</summary>
    public static async Task<ServerProcess> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string>? faults = null, params string[] arguments)
    {
        var server = Launch(dataDirectory, faults, arguments);
        await server.WaitHealthyAsync(TimeSpan.FromMinutes(2));
        return server;
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var health = new Health.HealthClient(Channel);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the server exited with code {_process.ExitCode}:\n{Output}");
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving) return;
            }
            catch (RpcException)
            {
                // not listening yet
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"the server at {Address} was not healthy after {timeout.TotalSeconds:F0} s:\n{Output}");
    }

    /// <summary>Waits until fault point <paramref name="point"/> halted the server or its worker.</summary>
    public async Task WaitForFaultPointAsync(string point, TimeSpan timeout)
    {
        var marker = Path.Combine(Markers, point);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(marker))
        {
            if (_process.HasExited) throw new InvalidOperationException($"the server exited before fault point '{point}':\n{Output}");
            if (clock.Elapsed > timeout) throw new TimeoutException($"fault point '{point}' not reached after {timeout.TotalSeconds:F0} s:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown code of the server runs.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
