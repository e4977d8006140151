using System.Runtime.InteropServices;
using DesMoe.Exporter.Onnx.Schema;
using Google.Protobuf;
using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Exporter.Onnx;

/// <summary>Builds <see cref="TensorProto"/>s with little-endian <c>raw_data</c>, as the ONNX spec requires.</summary>
public static class Tensors
{
    public static TensorProto Float(ReadOnlySpan<float> values, long[] dims, string name = "") =>
        Raw(DataType.Float, MemoryMarshal.AsBytes(values), dims, name);

    public static TensorProto Int64(ReadOnlySpan<long> values, long[] dims, string name = "") =>
        Raw(DataType.Int64, MemoryMarshal.AsBytes(values), dims, name);

    public static TensorProto Int32(ReadOnlySpan<int> values, long[] dims, string name = "") =>
        Raw(DataType.Int32, MemoryMarshal.AsBytes(values), dims, name);

    public static TensorProto UInt8(ReadOnlySpan<byte> values, long[] dims, string name = "") =>
        Raw(DataType.Uint8, values, dims, name);

    public static TensorProto Bool(ReadOnlySpan<bool> values, long[] dims, string name = "") =>
        Raw(DataType.Bool, MemoryMarshal.AsBytes(values), dims, name);

    /// <summary>A tensor of <paramref name="type"/> from its little-endian bytes (e.g. a TorchSharp tensor's memory).</summary>
    public static TensorProto FromBytes(DataType type, ReadOnlySpan<byte> bytes, long[] dims, string name) => Raw(type, bytes, dims, name);

    private static TensorProto Raw(DataType type, ReadOnlySpan<byte> bytes, long[] dims, string name)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian; this exporter runs on little-endian machines only");
        long count = dims.Aggregate(1L, (a, b) => a * b);
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        if (bytes.Length != count * ElementSize(type))
            throw new ArgumentException($"tensor '{name}': {bytes.Length} bytes do not match shape [{string.Join(", ", dims)}] of {type}");
        return tensor;
    }

    private static int ElementSize(DataType type) => type switch
    {
        DataType.Float or DataType.Int32 => 4,
        DataType.Float16 => 2,
        DataType.Int64 => 8,
        DataType.Bool => 1,
        DataType.Uint8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
