namespace DesMoe.Server.Options;

/// <summary>
/// The "DesMoe:Http" section: the OpenAI-compatible HTTP API beside gRPC (its listen address is
/// <c>Kestrel:Endpoints:Http:Url</c>, default <c>http://127.0.0.1:8000</c>).
/// </summary>
public sealed class HttpApiOptions
{
    public const string Section = "DesMoe:Http";

    /// <summary>
    /// The served model's id in <c>/v1/models</c> and in requests' <c>model</c>; each domain is <c>{id}:{domain}</c>, the
    /// plain router <c>{id}:none</c>. Empty: the name of the model's folder (e.g. <c>base-v2</c> for the bundled model).
    /// </summary>
    public string ModelName { get; set; } = "";

    /// <summary>API keys a request must present as <c>Authorization: Bearer KEY</c>; none (and no <see cref="ApiKeyFile"/>) = open.</summary>
    public string[] ApiKeys { get; set; } = [];

    /// <summary>A file with one API key a line (blank lines and <c>#</c> comments ignored), read at start-up.</summary>
    public string ApiKeyFile { get; set; } = "";

    /// <summary>
    /// A chat template for the chat route: a Jinja file, or a folder / tokenizer_config.json holding one. Empty: the
    /// served version's own (its export folder, then its model folder); a model without one answers the chat route 400.
    /// </summary>
    public string ChatTemplate { get; set; } = "";

    /// <summary>The largest request body accepted; a larger one is answered 413.</summary>
    public long MaxRequestBytes { get; set; } = 1 << 20;
}
