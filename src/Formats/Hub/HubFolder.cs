
namespace DesMoe.Formats.Hub;

/// <summary>A model folder in the hub layout: <c>config.json</c>, weights, and optionally generation config and tokenizer.</summary>
public sealed class HubFolder
{
    public const string ConfigFileName = "config.json";
    public const string TokenizerFileName = "tokenizer.json";

    private HubFolder(string path, ConfigJson config)
    {
        Path = path;
        Config = config;
    }

    public string Path { get; }

    public ConfigJson Config { get; }

    public string? TokenizerPath => File.Exists(System.IO.Path.Combine(Path, TokenizerFileName)) ? System.IO.Path.Combine(Path, TokenizerFileName) : null;

    public static HubFolder Open(string path)
    {
        if (!Directory.Exists(path)) throw new HubModelException($"{path}: no such model folder");
        var configPath = System.IO.Path.Combine(path, ConfigFileName);
        if (!File.Exists(configPath)) throw new HubModelException($"{path}: no {ConfigFileName}");
        return new HubFolder(path, ConfigJson.Parse(File.ReadAllText(configPath), configPath));
    }

    public GenerationConfig ReadGenerationConfig() => GenerationConfig.Read(Path, Config);
}
