using DesMoe.Formats.Files;
using DesMoe.Server.DomainInference;
using DesMoe.Server.Engine;
using DesMoe.Server.OpenAi.Wire;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;

namespace DesMoe.Server.OpenAi;

/// <summary>
/// The model ids the HTTP API serves, SGLang's spelling: <c>{model}</c> routes as <c>auto</c> (the domain inferred from
/// the prompt), <c>{model}:{domain}</c> by that domain, <c>{model}:none</c> by the plain router. The list is read from
/// the version served at the time, so it follows AddDomain, rollback and a replica's swaps.
/// </summary>
public sealed class ServedModels(HttpApiOptions http, ServerOptions options)
{
    public const char Separator = ':';

    public string Name { get; } = http.ModelName.Length > 0
        ? http.ModelName
        : Path.GetFileName(Path.TrimEndingDirectorySeparator(string.IsNullOrWhiteSpace(options.ModelPath) ? BundledModel.Folder : options.ModelPath));

    public ModelListBody List(VersionRecord version, IGenerationEngine engine)
    {
        long created = version.Created.ToUnixTimeSeconds();
        return new ModelListBody("list", Ids(engine).Select(id => new ModelBody(id, "model", created, "desmoe", version.Id, id == Name ? null : Name)).ToList());
    }

    /// <summary>The domain field a request for <paramref name="model"/> carries (as gRPC's: <c>auto</c>, <c>none</c> or a domain).</summary>
    /// <exception cref="OpenAiException">400 without a model, 404 for a model or domain this server does not serve</exception>
    public string DomainOf(string? model, IGenerationEngine engine)
    {
        if (string.IsNullOrEmpty(model)) throw OpenAiException.Invalid("model", "model is required (see GET /v1/models)");
        if (model == Name) return DomainResolution.Auto;
        int cut = model.LastIndexOf(Separator);
        if (cut > 0 && model[..cut] == Name)
        {
            var domain = model[(cut + 1)..];
            if (domain == DomainResolution.None || engine.Domains.Contains(domain)) return domain;
        }
        throw OpenAiException.NotFound("model", $"model '{model}' is not served here; served models: {string.Join(", ", Ids(engine))}");
    }

    /// <summary>The served ids: the model, then each domain's and the plain router's.</summary>
    private IEnumerable<string> Ids(IGenerationEngine engine) =>
        engine.Domains.Append(DomainResolution.None).Select(domain => $"{Name}{Separator}{domain}").Prepend(Name);
}
