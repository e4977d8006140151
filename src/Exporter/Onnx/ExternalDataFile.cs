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
    /// A weight's initializer written block by block, each block straight from a (contiguous, CPU) TorchSharp tensor's
    /// memory and disposed once written: no managed copy, which for gigabytes of weights would sit in the
    /// large-object heap until a full GC, and no whole tensor in memory either (a stack of every expert of a layer in
    /// float32 is 1.4 GB at Qwen1.5-MoE's size, more than half its bf16 checkpoint).
    /// </summary>
    /// <param name="dims">the whole tensor's shape; the blocks, concatenated, must fill it exactly</param>
    /// <param name="blocks">makes each block in turn, in <paramref name="type"/>'s element type</param>
    public TensorProto Write(string name, TensorProto.Types.DataType type, long[] dims, long elementSize, IEnumerable<Func<Tensor>> blocks)
    {
        var proto = new TensorProto { Name = name, DataType = (int)type };
        proto.Dims.AddRange(dims);
        long length = dims.Aggregate(1L, (a, b) => a * b) * elementSize;
        long offset = Align(length);
        foreach (var make in blocks)
        {
            using var block = make();
            long bytes = block.NumberOfElements * block.ElementSize;
            if (block.ElementSize != elementSize || _stream.Position + bytes > offset + length)
                throw new ArgumentException($"tensor '{name}': a block of {block.dtype} {string.Join("x", block.shape)} does not fit its shape [{string.Join(", ", dims)}] of {type}");
            _stream.Write(block.bytes);
        }
        if (_stream.Position != offset + length)
            throw new ArgumentException($"tensor '{name}': its blocks hold {_stream.Position - offset} bytes, its shape [{string.Join(", ", dims)}] of {type} {length}");
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
