using System.Security.Cryptography;
using System.Text;
using DesMoe.Server.Options;

namespace DesMoe.Server.OpenAi;

/// <summary>
/// The HTTP API's optional keys (<see cref="HttpApiOptions.ApiKeys"/> and <see cref="HttpApiOptions.ApiKeyFile"/>):
/// with none configured the API is open, as vLLM's is without <c>--api-key</c>; with any, a request needs
/// <c>Authorization: Bearer KEY</c> naming one of them.
/// </summary>
public sealed class ApiKeys
{
    private readonly byte[][] _keys;

    public ApiKeys(HttpApiOptions options, ILogger<ApiKeys> logger)
    {
        var keys = options.ApiKeys.Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => k.Trim()).ToList();
        if (options.ApiKeyFile.Length > 0)
        {
            if (!File.Exists(options.ApiKeyFile)) throw new FileNotFoundException($"DesMoe:Http:ApiKeyFile: no file {options.ApiKeyFile}", options.ApiKeyFile);
            keys.AddRange(File.ReadAllLines(options.ApiKeyFile).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')));
        }
        _keys = keys.Select(Encoding.UTF8.GetBytes).ToArray();
        logger.LogInformation("HTTP API keys: {Keys}", _keys.Length == 0 ? "none (open)" : $"{_keys.Length} configured");
    }

    public bool Required => _keys.Length > 0;

    /// <exception cref="OpenAiException">401 when keys are configured and the header names none of them</exception>
    public void Demand(string authorization)
    {
        if (!Required) return;
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            throw OpenAiException.Unauthorized("this server needs an API key: header 'Authorization: Bearer <key>'");
        var given = Encoding.UTF8.GetBytes(authorization["Bearer ".Length..].Trim());
        bool known = false;
        foreach (var key in _keys) known |= CryptographicOperations.FixedTimeEquals(given, key);
        if (!known) throw OpenAiException.Unauthorized("the API key is not one of this server's keys");
    }
}
