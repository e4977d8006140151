using DesMoe.Formats.Hub;
using static TorchSharp.torch;

namespace DesMoe.Torch.Safetensors;

/// <summary>The dtype strings of the safetensors header and their TorchSharp element types.</summary>
public static class SafetensorsDType
{
    private static readonly Dictionary<string, (ScalarType Type, int Bytes)> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    public static ScalarType ToScalarType(string name, string tensor) =>
        ByName.TryGetValue(name, out var entry)
            ? entry.Type
            : throw new HubModelException($"tensor '{tensor}' has dtype '{name}', which is not supported (supported: {string.Join(", ", ByName.Keys)})");

    public static int ElementSize(string name, string tensor)
    {
        ToScalarType(name, tensor);
        return ByName[name].Bytes;
    }

    public static string FromScalarType(ScalarType type)
    {
        foreach (var (name, entry) in ByName)
            if (entry.Type == type) return name;
        throw new ArgumentException($"element type {type} has no safetensors dtype", nameof(type));
    }

    /// <summary>Floating-point dtypes a model parameter may be stored in (converted to the parameter's dtype on load).</summary>
    public static bool IsFloatingPoint(string name) => name is "F64" or "F32" or "F16" or "BF16";
}
