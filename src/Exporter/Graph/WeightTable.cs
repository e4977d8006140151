using DesMoe.Torch.Model;
using DesMoe.Exporter.Onnx;
using DesMoe.Exporter.Onnx.Schema;
using static TorchSharp.torch;
using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Exporter.Graph;

/// <summary>
/// The model's parameters as graph initializers, under their checkpoint names. In <see cref="WeightPrecision.Float16"/>
/// mode each initializer is stored as float16 and followed by a Cast to float32, in the main graph even when a branch
/// reads it, where ONNX Runtime folds the cast away.
/// </summary>
internal sealed class WeightTable(MoeTransformer model, GraphBuilder graph, WeightPrecision precision)
{
    private readonly Dictionary<string, Tensor> _state = model.state_dict();

    /// <summary>The parameter as stored ([out, in] for linear layers).</summary>
    public string Get(string name) => Add(name, () => Find(name));

    /// <summary>A linear layer's weight transposed to [in, out], ready for <c>MatMul(x, w)</c>.</summary>
    public string Linear(string name) => Add(name + ".T", () => Find(name).t());

    /// <summary>Parameters built from several checkpoint tensors, e.g. every expert's down projection stacked as [experts, out, in].</summary>
    public string Computed(string name, Func<Func<string, Tensor>, Tensor> build) => Add(name, () => build(Find));

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

    private string Add(string name, Func<Tensor> source)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tensor = source().to(float32).cpu().contiguous();
        if (precision == WeightPrecision.Float32) return graph.Initializer(Initializer(tensor, DataType.Float, name));
        graph.Initializer(Initializer(tensor.to(float16).contiguous(), DataType.Float16, name + ".fp16"));
        return graph.InMainGraph(() => graph.Cast(name + ".fp16", DataType.Float));
    }

    /// <summary>With external data, straight from the tensor's memory to the data file; inline, a copy into the graph.</summary>
    private TensorProto Initializer(Tensor tensor, DataType type, string name)
    {
        if (graph.ExternalData is { } external && tensor.NumberOfElements * tensor.ElementSize >= ExternalDataFile.MinimumBytes)
            return external.Write(tensor, type, name);
        return Tensors.FromBytes(type, tensor.bytes, tensor.shape, name);
    }
}
