using System.Text.Json;
using DesMoe.Formats.Files;
using DesMoe.Formats.Experts;
using DesMoe.Onnx;

namespace DesMoe.Server.Versions;

/// <summary>
/// The model versions of one served model, on disk under <c>{data}/models/{key}</c>: <c>versions/{id}/</c> (model folder,
/// ONNX export, the held-out sets of its domains, version.json), the <c>current</c> pointer and the adaptation jobs.
/// Every version folder and the pointer are written by rename, so a crash leaves the previous state whole.
/// </summary>
public sealed class ModelStore
{
    private const string CurrentFileName = "current";
    private const string EvalFolder = "eval";
    private readonly object _lock = new();

    /// <summary>
    /// Stands for the configured model in the base version's record: the store is keyed by that model's hash, so the
    /// path it is found at today (e.g. a Debug or Release build folder) is the one to use.
    /// </summary>
    public const string ConfiguredSource = "<configured model>";

    private readonly string _source;

    private ModelStore(string root, string source)
    {
        Root = root;
        _source = source;
    }

    public string Root { get; }
    public string JobsFolder => Path.Combine(Root, "jobs");

    /// <summary>
    /// The file naming the server process that owns this store now; an adaptation worker writes only while it still
    /// holds the token of the server that started it (<see cref="OwnerToken"/>), so a worker of a previous life of
    /// the server can never write into the store of the next one.
    /// </summary>
    public string OwnerFile => Path.Combine(Root, "owner");

    /// <summary>This process's token in <see cref="OwnerFile"/> (null on a serving-only replica, which owns nothing).</summary>
    public string? OwnerToken { get; private set; }
    private string VersionsFolder => Path.Combine(Root, "versions");

    /// <summary>Opens the store of <paramref name="source"/> (model folder or export), creating its base version on first use.</summary>
    /// <param name="export">makes the base version's ONNX export when <paramref name="source"/> is a model folder</param>
    /// <param name="owner">
    /// false for a serving-only replica sharing the store: it neither creates the base version nor removes staged
    /// folders (the adapting replica may be writing one)
    /// </param>
    public static ModelStore Open(string source, string dataDirectory, Action<string> log, BaseExport export, bool owner = true)
    {
        bool hasWeights = ModelFiles.HasWeights(source);
        bool hasOnnx = File.Exists(Path.Combine(source, OnnxNames.ModelFileName));
        if (!hasWeights && !hasOnnx)
            throw new FileNotFoundException($"{source} holds neither {OnnxNames.ModelFileName} nor {ModelFiles.WeightsFileName}", source);
        var key = hasOnnx ? FileSha256(Path.Combine(source, OnnxNames.ModelFileName)) : ModelFiles.WeightsSha256(source);
        var store = new ModelStore(Path.Combine(dataDirectory, "models", key[..16]), Path.GetFullPath(source));
        if (!owner)
            return store.CurrentId() is null
                ? throw new InvalidOperationException($"the shared model store {store.Root} has no current version yet; start the adapting replica first")
                : store;
        Directory.CreateDirectory(store.Root);
        store.OwnerToken = Guid.NewGuid().ToString("N");
        AtomicFile.WriteAllText(store.OwnerFile, store.OwnerToken); // before the clean-up: from here on no old worker writes
        store.RemoveStaleStaging();
        if (store.CurrentId() is null) store.CreateBase(Path.GetFullPath(source), hasOnnx, export, log);
        return store;
    }

    public VersionRecord Current => Get(CurrentId() ?? throw new InvalidOperationException($"{Root} has no current version"));

    /// <summary>The id <c>current</c> names, or null before the base version exists.</summary>
    public string? CurrentIdOrNull => CurrentId();

    /// <summary>
    /// Every version folder on disk, oldest first. A folder whose version.json cannot be read is listed too, as a
    /// record with no model, and marked broken with the reason (see <see cref="LoadError"/>).
    /// </summary>
    public IReadOnlyList<VersionRecord> Versions() =>
        Directory.Exists(VersionsFolder)
            ? Directory.GetDirectories(VersionsFolder).Select(Path.GetFileName).OfType<string>()
                .Where(name => IsVersionId(name) && File.Exists(Path.Combine(VersionsFolder, name, VersionRecord.FileName)))
                .Select(ReadOrMarkBroken).OrderBy(v => v.Id, StringComparer.Ordinal).ToList()
            : [];

    public VersionRecord Get(string id)
    {
        var file = Path.Combine(VersionsFolder, id, VersionRecord.FileName);
        if (!File.Exists(file)) throw new KeyNotFoundException($"no model version '{id}'");
        try
        {
            var record = JsonSerializer.Deserialize<VersionRecord>(File.ReadAllText(file)) ?? throw new InvalidDataException($"{file} is empty");
            return record.Id == id ? record : throw new InvalidDataException($"{file} names version '{record.Id}'");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file} is not a readable version record: {e.Message}", e);
        }
    }

    private void MarkBroken(string id, string reason) => _broken[id] = reason;

    /// <summary>
    /// Records that loading <paramref name="id"/> threw, so listings show why and nothing tries to serve it again: one
    /// line (exception type and first message line), which it returns.
    /// </summary>
    public string MarkBroken(string id, Exception failure)
    {
        var reason = $"{failure.GetType().Name}: {failure.Message.Split('\n')[0].Trim()}";
        MarkBroken(id, reason);
        return reason;
    }

    /// <summary>Why <paramref name="id"/> could not be loaded in this process's life, or null.</summary>
    public string? LoadError(string id) => _broken.TryGetValue(id, out var reason) ? reason : null;

    /// <summary>Versions marked broken, by id.</summary>
    public IReadOnlyDictionary<string, string> Broken => _broken;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _broken = new();

    private VersionRecord ReadOrMarkBroken(string id)
    {
        try
        {
            return Get(id);
        }
        catch (InvalidDataException e)
        {
            MarkBroken(id, e.Message);
            return new VersionRecord { Id = id, Onnx = "" };
        }
    }

    private static bool IsVersionId(string name) => name is ['v', .. var digits] && digits.Length > 0 && digits.All(char.IsAsciiDigit);

    public string OnnxFolder(VersionRecord v) => Resolve(v, v.Onnx);
    public string? ModelFolderOf(VersionRecord v) => v.Model is null ? null : Resolve(v, v.Model);

    /// <summary>The held-out set files stored with a version, by domain name.</summary>
    public IReadOnlyDictionary<string, string> EvalFiles(VersionRecord v)
    {
        var folder = Path.Combine(VersionsFolder, v.Id, EvalFolder);
        return v.Domains.Select(d => (d, Path.Combine(folder, d + ".jsonl"))).Where(x => File.Exists(x.Item2)).ToDictionary(x => x.d, x => x.Item2);
    }

    /// <summary>
    /// Writes a new version folder by rename. <paramref name="fill"/> writes <c>model/</c> and <c>onnx/</c> into the staging
    /// folder it is given and returns the version's domains and the new held-out set files; it throws to abandon the version.
    /// </summary>
    public async Task<VersionRecord> CreateVersionAsync(VersionRecord parent, string jobId,
        Func<string, Task<(IReadOnlyList<string> Domains, IReadOnlyDictionary<string, string> NewEvalFiles)>> fill)
    {
        var staging = Path.Combine(VersionsFolder, $"{jobId}.saving-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var (domains, newEvalFiles) = await fill(staging);
            var eval = Directory.CreateDirectory(Path.Combine(staging, EvalFolder)).FullName;
            foreach (var (domain, file) in EvalFiles(parent).Concat(newEvalFiles)) File.Copy(file, Path.Combine(eval, domain + ".jsonl"));
            lock (_lock)
            {
                var record = new VersionRecord
                {
                    Id = NextId(), Parent = parent.Id, JobId = jobId, Created = DateTimeOffset.UtcNow, Domains = domains, Onnx = "onnx", Model = "model",
                };
                File.WriteAllText(Path.Combine(staging, VersionRecord.FileName), JsonSerializer.Serialize(record, Indented));
                Directory.Move(staging, Path.Combine(VersionsFolder, record.Id));
                return record;
            }
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>Points <c>current</c> at <paramref name="id"/> (write-then-rename).</summary>
    public void SetCurrent(string id)
    {
        _ = Get(id);
        AtomicFile.WriteAllText(Path.Combine(Root, CurrentFileName), id);
    }

    /// <summary>
    /// Deletes the oldest versions beyond <paramref name="keep"/>, never the current one nor its parent (the default
    /// rollback target, e.g. the base version when domains are added to it again and again); returns the deleted ids.
    /// </summary>
    public IReadOnlyList<string> Prune(int keep)
    {
        lock (_lock)
        {
            var current = CurrentId();
            var versions = Versions();
            var parent = versions.FirstOrDefault(v => v.Id == current)?.Parent;
            var doomed = versions.Where(v => v.Id != current).Reverse().Skip(Math.Max(0, keep - 1)).Where(v => v.Id != parent).Select(v => v.Id).ToList();
            foreach (var id in doomed) Delete(id);
            return doomed;
        }
    }

    /// <summary>Removes a version that is not served (e.g. one a job wrote before the server stopped).</summary>
    public void Delete(string id)
    {
        if (id == CurrentId()) throw new InvalidOperationException($"version {id} is being served");
        var folder = Path.Combine(VersionsFolder, id);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private string? CurrentId()
    {
        var file = Path.Combine(Root, CurrentFileName);
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    private void CreateBase(string source, bool isExport, BaseExport export, Action<string> log)
    {
        var domains = ReadDomains(source); // an export carries the config and assignment of its model folder too
        var record = new VersionRecord
        {
            Id = NextId(), Created = DateTimeOffset.UtcNow, Domains = domains,
            Onnx = isExport ? ConfiguredSource : "onnx", Model = isExport ? null : ConfiguredSource,
        };
        log($"creating the base version {record.Id} of {source} in {Root}");
        AtomicDirectory.Write(Path.Combine(VersionsFolder, record.Id), staging =>
        {
            if (!isExport) export(source, Path.Combine(staging, "onnx"), this, log);
            File.WriteAllText(Path.Combine(staging, VersionRecord.FileName), JsonSerializer.Serialize(record, Indented));
        });
        SetCurrent(record.Id);
    }

    private static IReadOnlyList<string> ReadDomains(string modelFolder) =>
        ExpertAssignment.LoadFrom(modelFolder, ModelFiles.LoadConfig(modelFolder))?.Domains ?? [];

    private string NextId()
    {
        int last = Directory.Exists(VersionsFolder)
            ? Directory.GetDirectories(VersionsFolder).Select(Path.GetFileName).Select(n => n is ['v', .. var digits] && int.TryParse(digits, out var k) ? k : 0).DefaultIfEmpty(0).Max()
            : 0;
        return $"v{last + 1:D4}";
    }

    private string Resolve(VersionRecord v, string path) =>
        path == ConfiguredSource ? _source : Path.IsPathRooted(path) ? path : Path.Combine(VersionsFolder, v.Id, path);

    /// <summary>Removes half-written (<c>.saving-*</c>) and half-replaced (<c>.old-*</c>) version folders; only the owner calls it, while no job runs.</summary>
    public void RemoveStaleStaging()
    {
        if (!Directory.Exists(VersionsFolder)) return;
        foreach (var dir in Directory.GetDirectories(VersionsFolder).Where(d => Path.GetFileName(d).Contains(".saving-") || Path.GetFileName(d).Contains(".old-")))
            Directory.Delete(dir, recursive: true);
    }

    private static string FileSha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }
}
