using DesMoe.Tests.Export;

namespace DesMoe.Tests.Server;

/// <summary>
/// A server over a model folder with two domains (math owns experts 0-3, law 4-7), exported on start, with a
/// queue of <see cref="QueueSize"/> and batches of up to <see cref="MaxBatch"/>.
/// </summary>
public class DomainServerFixture : ServerFixture
{
    public const int MaxBatch = 8;
    public const int QueueSize = 16;

    public DomainServerFixture()
    {
        ModelFolder = Data.File("model");
        ExportFixture.CreateTwoDomainModel(ModelFolder);
    }

    public string ModelFolder { get; }

    protected override string[] ExtraArguments =>
        [$"--DesMoe:ModelPath={ModelFolder}", $"--DesMoe:MaxBatch={MaxBatch}", $"--DesMoe:QueueSize={QueueSize}"];
}
