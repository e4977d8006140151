using System.Diagnostics;
using DesMoe.Protos.V1;
using Xunit;
using AdaptationClient = DesMoe.Protos.V1.Adaptation.AdaptationClient;

namespace DesMoe.Tests.Faults;

/// <summary>What a server's data directory holds, read straight from disk, and the checks every fault test makes.</summary>
internal static class StoreOnDisk
{
    public static string Root(string dataDirectory) => Directory.GetDirectories(Path.Combine(dataDirectory, "models")).Single();

    /// <summary>Version folders (vNNNN with a version.json), sorted.</summary>
    public static List<string> Versions(string dataDirectory) =>
        Directory.GetDirectories(Path.Combine(Root(dataDirectory), "versions")).Select(Path.GetFileName).OfType<string>()
            .Where(n => n.StartsWith('v') && !n.Contains('.') && File.Exists(Path.Combine(Root(dataDirectory), "versions", n, "version.json")))
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>Half-written or half-replaced folders anywhere in the store.</summary>
    public static List<string> Staging(string dataDirectory) =>
        Directory.GetDirectories(Root(dataDirectory), "*", SearchOption.AllDirectories)
            .Where(d => Path.GetFileName(d).Contains(".saving-") || Path.GetFileName(d).Contains(".old-")).ToList();

    /// <summary>Adaptation worker processes working on this data directory.</summary>
    public static List<int> Workers(string dataDirectory)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmdline.Contains("adapt-worker") && cmdline.Contains(dataDirectory)) found.Add(pid);
            }
            catch (IOException)
            {
                // the process ended while we looked
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for no worker of this data directory to remain.</summary>
    public static async Task<List<int>> WorkersAfter(string dataDirectory, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        List<int> left;
        while ((left = Workers(dataDirectory)).Count > 0 && clock.Elapsed < timeout) await Task.Delay(100);
        return left;
    }

    /// <summary>The restarted server's view equals the disk: same versions, nothing half-written, no worker left.</summary>
    public static async Task AssertConsistent(AdaptationClient admin, string dataDirectory)
    {
        var listed = (await admin.ListModelVersionsAsync(new ListModelVersionsRequest())).Versions.Select(v => v.Id).ToList();
        Assert.Equal(Versions(dataDirectory), listed);
        Assert.Empty(Staging(dataDirectory));
        Assert.Empty(Workers(dataDirectory));
    }
}
