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

    public string Folder { get; } = Path.Combine(folder, "runs");

    public JobResult? TryGet(string key)
    {
        var path = PathOf(key);
        if (!File.Exists(path)) return null;
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
    }

    private string PathOf(string key) => Path.Combine(Folder, key + ".json");
}
