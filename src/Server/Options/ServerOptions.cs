namespace DesMoe.Server.Options;

/// <summary>The "DesMoe" configuration section (appsettings.json, DESMOE__* environment variables, --DesMoe:* arguments).</summary>
public sealed class ServerOptions
{
    public const string Section = "DesMoe";

    /// <summary>Model folder to serve; empty serves the bundled base model.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Used when a request leaves max_new_tokens at 0.</summary>
    public int DefaultMaxNewTokens { get; set; } = 64;

    /// <summary>Requests asking for more new tokens are rejected with INVALID_ARGUMENT.</summary>
    public int MaxNewTokensLimit { get; set; } = 512;

    /// <summary>CPU threads for inference; 0 = all cores.</summary>
    public int Threads { get; set; }
}
