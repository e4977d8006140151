using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures;

/// <summary>One supported <c>model_type</c>: how to read its config and map it to the trainable form (the reference module is test code: tests/DesMoe.Tests/Reference). Registered in <see cref="ArchitectureRegistry"/>.</summary>
public interface IHubArchitecture
{
    string ModelType { get; }

    /// <summary>Parses and validates <paramref name="config"/>; unsupported values fail with a one-line <see cref="HubModelException"/>.</summary>
    HubModelConfig ReadConfig(ConfigJson config);

    /// <summary>
    /// The same model as the trainable one that adaptation, export and serving run, with its parameter names;
    /// what it cannot express fails with a one-line <see cref="HubModelException"/>.
    /// </summary>
    DesMoeForm ToDesMoe(HubModelConfig config);
}

/// <summary>Typed convenience base for an architecture whose config record is <typeparamref name="TConfig"/>.</summary>
public abstract class HubArchitecture<TConfig> : IHubArchitecture where TConfig : HubModelConfig
{
    public abstract string ModelType { get; }

    public abstract TConfig Read(ConfigJson config);

    public abstract DesMoeForm ToDesMoe(TConfig config);

    HubModelConfig IHubArchitecture.ReadConfig(ConfigJson config) => Read(config);

    DesMoeForm IHubArchitecture.ToDesMoe(HubModelConfig config) => ToDesMoe(Typed(config));

    private TConfig Typed(HubModelConfig config) =>
        config as TConfig ?? throw new ArgumentException($"{ModelType} cannot build a {config.GetType().Name}", nameof(config));
}
