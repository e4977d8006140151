using DesMoe.Server.Engine;
using DesMoe.Server.Options;

namespace DesMoe.Server.Versions;

/// <summary>No version in the store loads; the server cannot serve and says so in one line.</summary>
public sealed class NoServableVersionException(string message) : Exception(message);

/// <summary>
/// Picks the version a starting server serves: the current one if it loads, otherwise the newest other version that
/// does (as Triton keeps serving the last good model when a load fails). Each version that fails is logged as an
/// error and marked broken in the store with the reason, for ListModelVersions and the metrics; the current pointer
/// is left alone, so a repaired version is served again on the next start.
/// </summary>
public static class StartupVersion
{
    public static (IGenerationEngine Engine, VersionRecord Version) Load(ModelStore store, ServerOptions options, ILogger logger)
    {
        var current = store.CurrentIdOrNull;
        var versions = store.Versions();
        var candidates = versions.Where(v => v.Id == current).Concat(versions.Where(v => v.Id != current).Reverse()).ToList();
        foreach (var version in candidates)
        {
            if (store.LoadError(version.Id) is { } known)
            {
                logger.LogError("model version {Version} cannot be served: {Reason}", version.Id, known);
                continue;
            }
            try
            {
                var engine = EngineFactory.Create(options, store, version, logger);
                if (version.Id != current)
                    logger.LogError("the current model version {Current} does not load; serving {Version}, the newest that does", current, version.Id);
                return (engine, version);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                var reason = store.MarkBroken(version.Id, e);
                logger.LogError("model version {Version} failed to load: {Reason}", version.Id, reason);
            }
        }
        throw new NoServableVersionException(candidates.Count == 0
            ? $"no model version in {store.Root} to serve"
            : $"no model version in {store.Root} loads: " + string.Join("; ", candidates.Select(v => $"{v.Id}: {store.LoadError(v.Id)}")));
    }
}
