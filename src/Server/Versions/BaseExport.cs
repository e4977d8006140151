namespace DesMoe.Server.Versions;

/// <summary>
/// Writes the ONNX export of <paramref name="modelFolder"/> into <paramref name="onnxFolder"/> (inside the staging folder of
/// <paramref name="store"/>'s base version), for a store opened on a model folder. The server's is the adaptation
/// worker's export command (Jobs/WorkerExport.cs): the server itself does not run the TorchSharp model.
/// </summary>
public delegate void BaseExport(string modelFolder, string onnxFolder, ModelStore store, Action<string> log);
