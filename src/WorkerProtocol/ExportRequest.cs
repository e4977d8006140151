namespace DesMoe.WorkerProtocol;

/// <summary>
/// What the worker's <see cref="WorkerCommands.Export"/> command does: the ONNX export of a model folder, which the
/// server needs for the base version of a store it is given a model folder for (the server itself carries no libtorch).
/// </summary>
public sealed record ExportRequest
{
    public required string ModelFolder { get; init; }
    /// <summary>The folder to write <c>model.onnx</c> and its files into; it lies in the store's staging folder for the version.</summary>
    public required string OutputFolder { get; init; }
    /// <summary>As in <see cref="AdaptRequest.OwnerFile"/>: the worker writes only while the server that asked still owns the store.</summary>
    public required string OwnerFile { get; init; }
    public required string OwnerToken { get; init; }
}
