using System.CommandLine;
using Grpc.Net.Client;

namespace DesMoe.Cli.Remote;

/// <summary>The server address option every remote command shares (flag, else DESMOE_ADDRESS, else the server's default).</summary>
internal static class ServerConnection
{
    public const string DefaultAddress = "http://127.0.0.1:50051";

    public static Option<string> AddressOption() => new("--address")
    {
        Description = "server address (default: $DESMOE_ADDRESS or " + DefaultAddress + ")",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DESMOE_ADDRESS") is { Length: > 0 } env ? env : DefaultAddress,
    };

    public static GrpcChannel Open(string address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"--address must be an http:// or https:// URL, got '{address}'");
        return GrpcChannel.ForAddress(uri);
    }
}
