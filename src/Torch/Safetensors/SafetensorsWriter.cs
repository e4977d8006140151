using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace DesMoe.Torch.Safetensors;

/// <summary>
/// Writes named tensors as a <c>.safetensors</c> file (header padded with spaces to a multiple of 8 bytes, as the
/// format recommends). Offsets come from shapes and dtypes, so each tensor's bytes are written as soon as they are
/// read: memory holds one tensor's copy at a time. <c>storeAs</c> gives each tensor's dtype on disk (e.g. a float32
/// parameter saved back as the bf16 it was loaded from); the conversion also happens one tensor at a time.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        Func<string, ScalarType>? storeAs = null)
    {
        ScalarType Stored((string Name, Tensor Tensor) entry) => storeAs?.Invoke(entry.Name) ?? entry.Tensor.dtype;
        var entries = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is not null)
        {
            var meta = new JsonObject();
            foreach (var (key, value) in metadata) meta[key] = value;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var entry in entries)
        {
            var (name, tensor) = entry;
            var stored = Stored(entry);
            long bytes = tensor.NumberOfElements * SafetensorsDType.ElementSize(SafetensorsDType.FromScalarType(stored), name);
            header[name] = new JsonObject
            {
                ["dtype"] = SafetensorsDType.FromScalarType(stored),
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
        foreach (var entry in entries)
        {
            using var converted = entry.Tensor.detach().to(Stored(entry));
            using var cpu = converted.cpu().contiguous();
            stream.Write(cpu.bytes);
        }
    }
}
