using DesMoe.Formats.Files;
using DesMoe.Formats.Experts;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Tests.Support;

namespace DesMoe.Tests.Export;

/// <summary>
/// The string-skills model with a two-domain expert assignment (math owns experts 0-3, law 4-7 in every layer), exported
/// once with each expert kernel for the whole test class.
/// </summary>
public sealed class ExportFixture : IDisposable
{
    public static readonly string[] Domains = ["math", "law"];
    private readonly TempDirectory _dir = new();

    public ExportFixture()
    {
        ModelFolder = _dir.File("model");
        Assignment = CreateTwoDomainModel(ModelFolder);
        foreach (var kernel in Enum.GetValues<ExpertKernel>())
            Exports[kernel] = ModelExporter.Export(ModelFolder, _dir.File($"onnx-{kernel}"), new ExportOptions { Experts = kernel });
    }

    public string ModelFolder { get; }
    public ExpertAssignment Assignment { get; }
    public Dictionary<ExpertKernel, ExportResult> Exports { get; } = new();

    public string NewPath(string name) => _dir.File(name);

    /// <summary>Copies the string-skills model into <paramref name="folder"/> and gives it the two-domain assignment.</summary>
    public static ExpertAssignment CreateTwoDomainModel(string folder)
    {
        CopyFolder(BundledModel.StringSkillsFolder, folder);
        var config = DesMoe.Formats.Config.MoeConfig.Load(Path.Combine(folder, DesMoe.Formats.Config.MoeConfig.FileName));
        var assignment = new ExpertAssignment(Domains, config.NumRoutedExperts,
            Enumerable.Range(0, config.NumLayers).Select(_ => (IReadOnlyList<int[]>)[[0, 1, 2, 3], [4, 5, 6, 7]]).ToList());
        File.WriteAllText(Path.Combine(folder, ExpertAssignment.FileName), assignment.ToJson());
        return assignment;
    }

    public static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    public void Dispose() => _dir.Dispose();
}
