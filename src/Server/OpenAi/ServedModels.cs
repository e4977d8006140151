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
        var models = new List<ModelBody> { new(Name, "model", created, "desmoe", version.Id, null) };
        models.AddRange(engine.Domains.Append(DomainResolution.None)
            .Select(domain => new ModelBody($"{Name}{Separator}{domain}", "model", created, "desmoe", version.Id, Name)));
        return new ModelListBody("list", models);
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
        var served = string.Join(", ", engine.Domains.Append(DomainResolution.None).Select(d => $"{Name}{Separator}{d}").Prepend(Name));
        throw OpenAiException.NotFound("model", $"model '{model}' is not served here; served models: {served}");
    }
}
