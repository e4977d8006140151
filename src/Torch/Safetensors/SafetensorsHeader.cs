using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using DesMoe.Formats.Hub;

namespace DesMoe.Torch.Safetensors;

/// <summary>
/// The header of a <c>.safetensors</c> file: an 8-byte little-endian header length N, then N bytes of JSON mapping
/// each tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" string map), then the data.
/// Reading it touches only the first 8 + N bytes, so opening a 60 GB shard costs the same as opening a small one.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>Headers above this are refused: the format's own reference implementation caps them at 100 MB.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private SafetensorsHeader(string path, long dataStart, IReadOnlyDictionary<string, SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        DataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>Absolute file offset of the data section (8 + header length).</summary>
    public long DataStart { get; }

    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsHeader Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.Length < 8 || stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new HubModelException($"{path}: not a safetensors file (shorter than its 8-byte header length)");
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > stream.Length)
            throw new HubModelException($"{path}: not a safetensors file (header length {headerLength} for a file of {stream.Length} bytes)");
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        long dataLength = stream.Length - 8 - headerLength;
        return Parse(path, json, 8 + headerLength, dataLength);
    }

    private static SafetensorsHeader Parse(string path, byte[] json, long dataStart, long dataLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(Encoding.UTF8.GetString(json).TrimEnd(' ', '\0'));
        }
        catch (JsonException e)
        {
            throw new HubModelException($"{path}: malformed safetensors header JSON: {e.Message}", e);
        }
        using (document)
        {
            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    foreach (var entry in property.Value.EnumerateObject()) metadata[entry.Name] = entry.Value.ToString();
                    continue;
                }
                tensors[property.Name] = ParseEntry(path, property, dataLength);
            }
            return new SafetensorsHeader(path, dataStart, tensors, metadata);
        }
    }

    private static SafetensorsTensorInfo ParseEntry(string path, JsonProperty property, long dataLength)
    {
        var name = property.Name;
        try
        {
            var dtype = property.Value.GetProperty("dtype").GetString()!;
            var shape = property.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var info = new SafetensorsTensorInfo(name, dtype, shape, offsets[0], offsets[1]);
            long expectedBytes = info.ElementCount * SafetensorsDType.ElementSize(dtype, name);
            if (offsets.Length != 2 || info.Begin < 0 || info.End > dataLength || info.End - info.Begin != expectedBytes)
                throw new HubModelException(
                    $"{path}: tensor '{name}' ({dtype} {info.ShapeText}) has data_offsets [{string.Join(", ", offsets)}], which do not hold {expectedBytes} bytes inside the {dataLength}-byte data section");
            return info;
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException)
        {
            throw new HubModelException($"{path}: malformed safetensors header entry '{name}': {e.Message}", e);
        }
    }
}
