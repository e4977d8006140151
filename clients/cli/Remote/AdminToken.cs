using System.CommandLine;
using Grpc.Core;

namespace DesMoe.Cli.Remote;

/// <summary>The admin credential for AddDomain, CancelJob and Rollback: flag, else DESMOE_ADMIN_TOKEN, else the local server's token file.</summary>
internal static class AdminToken
{
    public static Option<string?> Option() => new("--admin-token")
    {
        Description = "admin bearer token (default: $DESMOE_ADMIN_TOKEN, else the token file a local server generated in ~/.local/share/desmoe/admin-token)",
    };

    public static Metadata Headers(string? token)
    {
        token ??= Environment.GetEnvironmentVariable("DESMOE_ADMIN_TOKEN");
        if (string.IsNullOrWhiteSpace(token))
        {
            var file = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "desmoe", "admin-token");
            if (File.Exists(file)) token = File.ReadAllText(file).Trim();
        }
        return string.IsNullOrWhiteSpace(token) ? [] : new Metadata { { "authorization", $"Bearer {token}" } };
    }
}
