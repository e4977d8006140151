using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace DesMoe.Core.Architectures.Safetensors;

/// <summary>
/// Writes named tensors as a <c>.safetensors</c> file (header padded with spaces to a multiple of 8 bytes, as the
/// format recommends). Offsets come from shapes and dtypes, so each tensor's bytes are written as soon as they are
/// read: memory holds one tensor's copy at a time.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is not null)
        {
            var meta = new JsonObject();
            foreach (var (key, value) in metadata) meta[key] = value;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var (name, tensor) in entries)
        {
            long bytes = tensor.NumberOfElements * tensor.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = SafetensorsDType.FromScalarType(tensor.dtype),
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var headerText = header.ToJsonString();
        int padding = (8 - Encoding.UTF8.GetByteCount(headerText) % 8) % 8;
        var headerBytes = Encoding.UTF8.GetBytes(headerText + new string(' ', padding));

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        foreach (var (_, tensor) in entries)
        {
            using var cpu = tensor.detach().cpu().contiguous();
            stream.Write(cpu.bytes);
        }
    }
}
