using DesMoe.Torch.Tensors;
using DesMoe.Formats.Hub;
using static TorchSharp.torch;

namespace DesMoe.Torch.Safetensors;

/// <summary>
/// Reads tensors out of one <c>.safetensors</c> file one at a time, straight from disk: only the tensor being read is
/// ever in memory, so loading a model needs no second copy of it.
/// </summary>
/// <remarks>
/// TorchSharp.PyBridge 1.4.4 reads safetensors too, but its reader (<c>Safetensors.LoadStateDict</c>, which its module
/// extension <c>load_safetensors</c> feeds to <c>load_state_dict</c>) reads a whole file into a name-to-tensor
/// dictionary in the stored dtype — a second copy of every shard — and refuses tensors over 2 GB. The format is simple
/// enough (see <see cref="SafetensorsHeader"/>) that reading it here, one tensor at a time, costs less than working around that.
/// </remarks>
public sealed class SafetensorsFile
{
    /// <summary>Tensors larger than this are copied in slices along their first dimension, bounding the staging memory.</summary>
    private const long MaxStagingBytes = 64L << 20;

    public SafetensorsFile(string path) => Header = SafetensorsHeader.Read(path);

    public SafetensorsHeader Header { get; }

    public string Path => Header.Path;

    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => Header.Tensors;

    public SafetensorsTensorInfo Info(string name) =>
        Header.Tensors.TryGetValue(name, out var info) ? info : throw new HubModelException($"{Path}: no tensor named '{name}'");

    /// <summary>A new CPU tensor with the stored dtype and shape.</summary>
    public Tensor Read(string name)
    {
        var info = Info(name);
        var tensor = empty(info.Shape, dtype: SafetensorsDType.ToScalarType(info.DType, name));
        using var stream = Open();
        FillFromStream(stream, info, tensor, firstRow: 0, rows: info.Shape.Length == 0 ? 1 : info.Shape[0]);
        return tensor;
    }

    /// <summary>
    /// Copies the stored tensor into <paramref name="destination"/> (same shape; dtype and device may differ: the values
    /// are converted by <c>copy_</c>). Staging happens in slices of at most <see cref="MaxStagingBytes"/>.
    /// </summary>
    public void CopyInto(string name, Tensor destination)
    {
        var info = Info(name);
        if (!info.Shape.SequenceEqual(destination.shape))
            throw new HubModelException($"tensor '{name}' has shape {info.ShapeText} in {System.IO.Path.GetFileName(Path)} but the model expects {ShapeFormat.Of(destination.shape)}");
        var storedType = SafetensorsDType.ToScalarType(info.DType, name);
        using var stream = Open();
        using var noGrad = no_grad();
        if (info.Shape.Length == 0)
        {
            using var scalar = empty(info.Shape, dtype: storedType);
            FillFromStream(stream, info, scalar, 0, 1);
            destination.copy_(scalar);
            return;
        }
        long rows = info.Shape[0];
        long rowBytes = rows == 0 ? 0 : (info.End - info.Begin) / rows;
        foreach (var (first, count) in RowSlices.Of(rows, rowBytes, MaxStagingBytes))
        {
            var sliceShape = (long[])info.Shape.Clone();
            sliceShape[0] = count;
            using var staging = empty(sliceShape, dtype: storedType);
            FillFromStream(stream, info, staging, first, count);
            using var target = destination.narrow(0, first, count);
            target.copy_(staging);
        }
    }

    private FileStream Open() => new(Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);

    /// <summary>Reads rows [firstRow, firstRow + rows) of the stored tensor into the contiguous CPU tensor <paramref name="staging"/>.</summary>
    private void FillFromStream(FileStream stream, SafetensorsTensorInfo info, Tensor staging, long firstRow, long rows)
    {
        long totalRows = info.Shape.Length == 0 ? 1 : info.Shape[0];
        long rowBytes = totalRows == 0 ? 0 : (info.End - info.Begin) / totalRows;
        long byteCount = rowBytes * rows;
        if (byteCount == 0) return;
        if (byteCount > int.MaxValue)
            throw new HubModelException($"tensor '{info.Name}' slice of {byteCount} bytes is too large to stage");
        var buffer = new byte[byteCount];
        stream.Seek(Header.DataStart + info.Begin + firstRow * rowBytes, SeekOrigin.Begin);
        stream.ReadExactly(buffer);
        // Safetensors data is little-endian, as is every platform TorchSharp ships natives for.
        staging.bytes = buffer;
    }
}
