using DesMoe.Exporter.Onnx.Schema;
using Google.Protobuf;

namespace DesMoe.Exporter.Onnx;

/// <summary>
/// ONNX external data: initializers' bytes in a side file next to <c>model.onnx</c>, which keeps only a reference
/// (location, offset, length). Needed above 2 GB, protobuf's message limit; and because each tensor is written here
/// as soon as it is built and then dropped from the graph, export never holds a second copy of the weights.
/// </summary>
public sealed class ExternalDataFile : IDisposable
{
    /// <summary>Smaller tensors stay inline (as onnx.save's default size_threshold).</summary>
    public const int MinimumBytes = 1024;

    /// <summary>Tensors of at least a megabyte start on a 4 KiB boundary, so ONNX Runtime can map them (as onnx's align_offset).</summary>
    private const long AlignThreshold = 1 << 20, Alignment = 4096;

    private readonly FileStream _stream;

    /// <param name="path">the data file; its name, relative to the model file's folder, goes into every reference</param>
    public ExternalDataFile(string path)
    {
        Location = Path.GetFileName(path);
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
    }

    public string Location { get; }

    public long Bytes => _stream.Length;

    /// <summary>Moves <paramref name="tensor"/>'s raw data into the file unless it is small.</summary>
    public void Take(TensorProto tensor)
    {
        var bytes = tensor.RawData;
        if (bytes.Length < MinimumBytes) return;
        if (bytes.Length >= AlignThreshold && _stream.Position % Alignment != 0)
            _stream.Write(new byte[Alignment - _stream.Position % Alignment]);
        long offset = _stream.Position;
        bytes.WriteTo(_stream);
        tensor.RawData = ByteString.Empty;
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = Location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    public void Dispose() => _stream.Dispose();
}
