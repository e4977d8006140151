using DesMoe.Exporter.Onnx.Schema;
using Google.Protobuf;
using static TorchSharp.torch;

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
        long offset = Align(bytes.Length);
        bytes.WriteTo(_stream);
        tensor.RawData = ByteString.Empty;
        Reference(tensor, offset, bytes.Length);
    }

    /// <summary>
    /// A weight's initializer written straight from the (contiguous, CPU) TorchSharp tensor's memory: no managed
    /// copy, which for gigabytes of weights would sit in the large-object heap until a full GC. Tensors past 2 GB
    /// (a span's limit) are written in row slices.
    /// </summary>
    public TensorProto Write(Tensor tensor, TensorProto.Types.DataType type, string name)
    {
        var proto = new TensorProto { Name = name, DataType = (int)type };
        proto.Dims.AddRange(tensor.shape);
        long length = tensor.NumberOfElements * tensor.ElementSize;
        long offset = Align(length);
        if (length <= int.MaxValue || tensor.shape.Length == 0) _stream.Write(tensor.bytes);
        else
        {
            long rowBytes = length / tensor.shape[0], rowsPerSlice = Math.Max(1, int.MaxValue / rowBytes);
            for (long row = 0; row < tensor.shape[0]; row += rowsPerSlice)
            {
                using var slice = tensor.narrow(0, row, Math.Min(rowsPerSlice, tensor.shape[0] - row));
                _stream.Write(slice.bytes);
            }
        }
        Reference(proto, offset, length);
        return proto;
    }

    private long Align(long length)
    {
        if (length >= AlignThreshold && _stream.Position % Alignment != 0)
            _stream.Write(new byte[Alignment - _stream.Position % Alignment]);
        return _stream.Position;
    }

    private void Reference(TensorProto tensor, long offset, long length)
    {
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = Location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    public void Dispose() => _stream.Dispose();
}
