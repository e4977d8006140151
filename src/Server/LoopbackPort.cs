namespace DesMoe.Server;

/// <summary>Loopback ports for in-process servers (benchmarks, tests).</summary>
public static class LoopbackPort
{
    /// <summary>A loopback port free at the moment of asking (the OS picks it; another process may take it after).</summary>
    public static int Free()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
