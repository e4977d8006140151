using DesMoe.Server.Engine;
using DesMoe.Server.Options;

namespace DesMoe.Server.Versions;

/// <summary>
/// On a serving-only replica (adaptation disabled) that shares its model store with the adapting replica: follows
/// the store's <c>current</c> pointer and swaps in whatever version it names, the way a job or a rollback does on
/// the adapting replica. A version that fails to load is logged and the old one keeps serving; it is retried only
/// once <c>current</c> moves on.
/// </summary>
public sealed class VersionWatcher(ModelStore store, ModelHost host, ServerOptions options, AdaptationSettings settings, ILogger<VersionWatcher> logger)
    : BackgroundService
{
    private string? _failed;

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        if (settings.Enabled || settings.WatchIntervalSeconds <= 0) return;
        logger.LogInformation("Serving-only replica: following {Store} every {Seconds} s", store.Root, settings.WatchIntervalSeconds);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.WatchIntervalSeconds));
        while (await timer.WaitForNextTickAsync(stopping))
        {
            VersionRecord current;
            try
            {
                current = store.Current;
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or KeyNotFoundException)
            {
                logger.LogWarning("cannot read the current version: {Message}", e.Message);
                continue;
            }
            if (current.Id == host.Version.Id || current.Id == _failed) continue;
            try
            {
                host.Swap(EngineFactory.Create(options, store, current, logger), current);
                _failed = null;
            }
            catch (Exception e)
            {
                _failed = current.Id;
                logger.LogError(e, "version {Version} failed to load; still serving {Served}", current.Id, host.Version.Id);
            }
        }
    }
}
