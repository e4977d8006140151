using DesMoe.Formats.Hub;

namespace DesMoe.Formats.Architectures;

/// <summary>
/// A hub folder's architecture, chosen by its config.json's <c>model_type</c>. It lives beside the registry rather
/// than in <see cref="HubFolder"/>, so that reading a folder (Hub/) depends on nothing the architectures build on it.
/// </summary>
public static class HubFolderArchitecture
{
    extension(HubFolder hub)
    {
        public IHubArchitecture Architecture => ArchitectureRegistry.For(hub.Config.ModelType);

        public HubModelConfig ReadModelConfig() => hub.Architecture.ReadConfig(hub.Config);
    }
}
