using System.Text.Json;
using DesMoe.Formats.Files;

namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>
/// Each job's result as <c>runs/{key}.json</c> in the output folder, written atomically when the job ends, so a
/// comparison stopped at any point continues where it stopped and a full run can span several sittings.
/// </summary>
public sealed class ResultCache(string folder)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public string Folder { get; } = Path.Combine(folder, "runs");

    public JobResult? TryGet(string key)
    {
        var path = PathOf(key);
        if (!File.Exists(path)) return null;
        _used.Add(key);
        try
        {
            return JsonSerializer.Deserialize<JobResult>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a readable comparison result ({e.Message}); delete it to run that job again", e);
        }
    }

    public void Put(string key, JobResult result)
    {
        Directory.CreateDirectory(Folder);
        AtomicFile.WriteAllText(PathOf(key), JsonSerializer.Serialize(result, Json));
        _used.Add(key);
    }

    /// <summary>
    /// Deletes the results this instance neither read nor wrote (jobs of other settings, or of data or a model that
    /// changed since), so that after a complete run the folder holds exactly the jobs its report was made from.
    /// </summary>
    /// <returns>how many files were deleted</returns>
    public int PruneUnused()
    {
        if (!Directory.Exists(Folder)) return 0;
        var stale = Directory.GetFiles(Folder, "*.json").Where(f => !_used.Contains(Path.GetFileNameWithoutExtension(f))).ToList();
        foreach (var file in stale) File.Delete(file);
        return stale.Count;
    }

    private string PathOf(string key) => Path.Combine(Folder, key + ".json");
}
