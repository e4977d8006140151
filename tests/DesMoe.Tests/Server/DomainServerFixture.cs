using DesMoe.Core.Checkpoints;
using DesMoe.Core.Config;
using DesMoe.Core.Model;
using DesMoe.Tests.Export;
using DesMoe.Tests.Support;

namespace DesMoe.Tests.Server;

/// <summary>
/// A server over a model folder with two domains (math owns experts 0-3, law 4-7), exported on start, with a
/// queue of <see cref="QueueSize"/> and batches of up to <see cref="MaxBatch"/>.
/// </summary>
public class DomainServerFixture : ServerFixture
{
    public const int MaxBatch = 8;
    public const int QueueSize = 16;
    private static readonly TempDirectory ModelDir = new();

    public DomainServerFixture()
    {
        ModelFolder = ModelDir.File("model");
        if (Directory.Exists(ModelFolder)) return;
        ExportFixture.CopyFolder(BundledModel.Folder, ModelFolder);
        var config = MoeConfig.Load(Path.Combine(ModelFolder, MoeConfig.FileName));
        var assignment = new ExpertAssignment(ExportFixture.Domains, config.NumRoutedExperts,
            Enumerable.Range(0, config.NumLayers).Select(_ => (IReadOnlyList<int[]>)[[0, 1, 2, 3], [4, 5, 6, 7]]).ToList());
        File.WriteAllText(Path.Combine(ModelFolder, ExpertAssignment.FileName), assignment.ToJson());
    }

    public string ModelFolder { get; }

    protected override string[] ExtraArguments =>
        [$"--DesMoe:ModelPath={ModelFolder}", $"--DesMoe:MaxBatch={MaxBatch}", $"--DesMoe:QueueSize={QueueSize}"];
}
