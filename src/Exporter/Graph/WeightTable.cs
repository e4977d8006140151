using DesMoe.Torch.Tensors;
using DesMoe.Torch.Model;
using DesMoe.Exporter.Onnx;
using DesMoe.Exporter.Onnx.Schema;
using static TorchSharp.torch;
using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Exporter.Graph;

/// <summary>
/// The model's parameters as graph initializers, under their checkpoint names. In <see cref="WeightPrecision.Float16"/>
/// mode each initializer is stored as float16 and followed by a Cast to float32, in the main graph even when a branch
/// reads it, where ONNX Runtime folds the cast away. Each initializer is converted and written in blocks of at most
/// <paramref name="blockBytes"/>: a model held in bf16 is exported without ever holding a float32 copy of a whole weight
/// (a transposed LM head, a layer's stacked experts), so export peaks near the model itself (docs/hub-checkpoints.md).
/// </summary>
internal sealed class WeightTable(MoeTransformer model, GraphBuilder graph, WeightPrecision precision, long blockBytes)
{
    private readonly Dictionary<string, Tensor> _state = model.state_dict();

    private DataType Type => precision == WeightPrecision.Float32 ? DataType.Float : DataType.Float16;
    private ScalarType ElementType => precision == WeightPrecision.Float32 ? float32 : float16;
    private int ElementBytes => precision == WeightPrecision.Float32 ? sizeof(float) : 2;

    /// <summary>The parameter as stored ([out, in] for linear layers).</summary>
    public string Get(string name) => Computed(name, find => find(name));

    /// <summary>A linear layer's weight transposed to [in, out], ready for <c>MatMul(x, w)</c>.</summary>
    public string Linear(string name) => Computed(name + ".T", find => find(name).t());

    /// <summary>A parameter built from checkpoint tensors: a view of one, or a small tensor computed from them.</summary>
    public string Computed(string name, Func<Func<string, Tensor>, Tensor> build)
    {
        // The scope lets go of the views' handles here: one left open would keep its parameter's memory alive after the model is disposed.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Add(name, build(Find));
    }

    /// <summary>
    /// <paramref name="count"/> tensors of one shape stacked on a new first axis, e.g. every expert's down projection
    /// as [experts, out, in]; each is built only when it is written.
    /// </summary>
    public string Stacked(string name, int count, Func<int, Func<string, Tensor>, Tensor> build)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var shape = build(0, Find).shape;
        return Add(name, [count, .. shape], Enumerable.Range(0, count).Select(i => (Func<Tensor>)(() => build(i, Find).unsqueeze(0))));
    }

    /// <summary>A linear layer's weight [N, K] blockwise-quantized for <c>MatMulNBits</c>: the packed values, scales and zero points.</summary>
    public (string Packed, string Scales, string ZeroPoints, QuantizedMatrix Matrix) Quantized(string name, int bits)
    {
        using var scope = NewDisposeScope();
        var weight = Find(name).to(float32).contiguous();
        var q = BlockQuantizer.Quantize(weight.data<float>().ToArray(), (int)weight.shape[0], (int)weight.shape[1], bits);
        return (graph.Initializer(Tensors.UInt8(q.Packed, [q.N, q.Blocks, q.BlockSize * bits / 8], name + $".q{bits}")),
            graph.Initializer(Tensors.Float(q.Scales, [q.N * q.Blocks], name + ".scales")),
            graph.Initializer(Tensors.UInt8(q.ZeroPoints, [q.ZeroPoints.Length], name + ".zero_points")),
            q);
    }

    private Tensor Find(string name) =>
        _state.TryGetValue(name, out var t) ? t.detach() : throw new KeyNotFoundException($"the model has no parameter '{name}'");

    /// <summary>A tensor (a view of a parameter, typically) as blocks of rows.</summary>
    private string Add(string name, Tensor source)
    {
        if (source.shape.Length == 0) return Add(name, source.shape, [() => source.alias()]);
        long rows = source.shape[0], rowBytes = source.NumberOfElements / Math.Max(1, rows) * sizeof(float); // converted, at most float32
        return Add(name, source.shape, RowSlices.Of(rows, rowBytes, blockBytes)
            .Select(slice => (Func<Tensor>)(() => source.narrow(0, slice.Start, slice.Count))));
    }

    /// <summary>The initializer <paramref name="name"/> of <paramref name="dims"/>, the concatenation of <paramref name="blocks"/> on its first axis.</summary>
    private string Add(string name, long[] dims, IEnumerable<Func<Tensor>> blocks)
    {
        // Each block is converted under a scope of its own, and only the converted tensor leaves it (to be written and disposed).
        var converted = blocks.Select(make => (Func<Tensor>)(() =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return make().to(ElementType).cpu().contiguous().MoveToOuterDisposeScope();
        }));
        string stored = precision == WeightPrecision.Float32 ? name : name + ".fp16";
        long bytes = dims.Aggregate(1L, (a, b) => a * b) * ElementBytes;
        if (graph.ExternalData is { } external && bytes >= ExternalDataFile.MinimumBytes)
            graph.Initializer(external.Write(stored, Type, dims, ElementBytes, converted));
        else
            graph.Initializer(Inline(stored, dims, converted));
        return precision == WeightPrecision.Float32 ? name : graph.InMainGraph(() => graph.Cast(stored, DataType.Float));
    }

    /// <summary>Without external data (small models), a copy into the graph.</summary>
    private TensorProto Inline(string name, long[] dims, IEnumerable<Func<Tensor>> blocks)
    {
        using var scope = NewDisposeScope();
        var whole = cat(blocks.Select(make => make()).ToArray(), 0).reshape(dims).contiguous();
        return Tensors.FromBytes(Type, whole.bytes, dims, name);
    }
}
