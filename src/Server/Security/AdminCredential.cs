using System.Security.Cryptography;
using System.Text;
using DesMoe.Server.Options;
using Grpc.Core;

namespace DesMoe.Server.Security;

/// <summary>
/// The bearer token the admin RPCs require. Configured (DesMoe:Adaptation:AdminToken) or, when left empty, generated
/// once into <c>{data}/admin-token</c>, readable by the server's user only, so a fresh server is never open.
/// </summary>
public sealed class AdminCredential
{
    public const string FileName = "admin-token";
    private readonly byte[] _token;

    public AdminCredential(AdaptationSettings settings, ServerOptions options, ILogger<AdminCredential> logger)
    {
        var token = settings.AdminToken;
        if (string.IsNullOrWhiteSpace(token))
        {
            TokenFile = Path.Combine(options.ResolvedDataDirectory(), FileName);
            if (!File.Exists(TokenFile))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(TokenFile)!);
                var temp = TokenFile + ".tmp";
                File.WriteAllText(temp, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                File.Move(temp, TokenFile);
            }
            token = File.ReadAllText(TokenFile).Trim();
            logger.LogInformation("Admin RPCs take the bearer token in {TokenFile} (set DesMoe:Adaptation:AdminToken to choose one)", TokenFile);
        }
        _token = Encoding.UTF8.GetBytes(token);
    }

    /// <summary>Where the generated token lives; null when it was configured.</summary>
    public string? TokenFile { get; }

    /// <summary>Throws UNAUTHENTICATED without a bearer token and PERMISSION_DENIED with a wrong one.</summary>
    public void Demand(ServerCallContext context, string action)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        if (string.IsNullOrEmpty(header) || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"{action} needs the admin credential: metadata 'authorization: Bearer <token>'"));
        var given = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        if (!CryptographicOperations.FixedTimeEquals(given, _token))
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{action}: the bearer token is not the admin token"));
    }
}
