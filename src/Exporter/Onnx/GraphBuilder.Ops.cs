using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Exporter.Onnx;

/// <summary>The standard ONNX operators the exporter uses (opset <see cref="OnnxFormat.Opset"/> signatures).</summary>
public sealed partial class GraphBuilder
{
    public string Add(string a, string b) => Op("Add", a, b);
    public string Sub(string a, string b) => Op("Sub", a, b);
    public string Mul(string a, string b) => Op("Mul", a, b);
    public string Div(string a, string b) => Op("Div", a, b);
    public string Neg(string x) => Op("Neg", x);
    public string Pow(string x, string exponent) => Op("Pow", x, exponent);
    public string Sqrt(string x) => Op("Sqrt", x);
    public string Sigmoid(string x) => Op("Sigmoid", x);
    public string Erf(string x) => Op("Erf", x);
    public string Cos(string x) => Op("Cos", x);
    public string Sin(string x) => Op("Sin", x);
    public string MatMul(string a, string b) => Op("MatMul", a, b);
    public string And(string a, string b) => Op("And", a, b);
    public string LessOrEqual(string a, string b) => Op("LessOrEqual", a, b);
    public string Where(string condition, string whenTrue, string whenFalse) => Op("Where", condition, whenTrue, whenFalse);
    public string Shape(string x) => Op("Shape", x);
    public string Reshape(string x, string shape) => Op("Reshape", x, shape);
    public string Expand(string x, string shape) => Op("Expand", x, shape);
    public string Unsqueeze(string x, string axes) => Op("Unsqueeze", x, axes);
    public string Range(string start, string limit, string delta) => Op("Range", start, limit, delta);
    public string NonZero(string x) => Op("NonZero", x);
    public string Identity(string x) => Op("Identity", x);
    public string ConstantOfShape(string shape) => Op("ConstantOfShape", shape);

    public string Cast(string x, DataType to) => Op("Cast", [x], Attr.Int("to", (long)to));
    public string Transpose(string x, params long[] perm) => Op("Transpose", [x], Attr.Ints("perm", perm));
    public string Softmax(string x, long axis) => Op("Softmax", [x], Attr.Int("axis", axis));
    public string Concat(long axis, params string[] inputs) => Op("Concat", inputs, Attr.Int("axis", axis));
    public string Gather(string data, string indices, long axis = 0) => Op("Gather", [data, indices], Attr.Int("axis", axis));

    public string ReduceMean(string x, string axes, bool keepDims) => Op("ReduceMean", [x, axes], Attr.Int("keepdims", keepDims ? 1 : 0));
    public string ReduceSum(string x, string axes, bool keepDims) => Op("ReduceSum", [x, axes], Attr.Int("keepdims", keepDims ? 1 : 0));
    public string ReduceMax(string x, string axes, bool keepDims) => Op("ReduceMax", [x, axes], Attr.Int("keepdims", keepDims ? 1 : 0));

    public string Slice(string x, string starts, string ends, string axes) => Op("Slice", x, starts, ends, axes);

    public string ScatterNdAdd(string data, string indices, string updates) =>
        Op("ScatterND", [data, indices, updates], Attr.String("reduction", "add"));

    public (string Values, string Indices) TopK(string x, string k, long axis)
    {
        var outputs = Node("TopK", [x, k], 2, "", Attr.Int("axis", axis), Attr.Int("largest", 1), Attr.Int("sorted", 1));
        return (outputs[0], outputs[1]);
    }

    /// <summary>
    /// com.microsoft.MatMulNBits: <paramref name="a"/> [M, K] times the blockwise-quantized [N, K] weight, transposed:
    /// [M, N]. <paramref name="accuracyLevel"/> is the least precise compute allowed (0 unset: fp32; 4: int8 activations).
    /// </summary>
    public string MatMulNBits(string a, string packed, string scales, string zeroPoints, int k, int n, int bits, int blockSize, int accuracyLevel = 0) =>
        Node("MatMulNBits", [a, packed, scales, zeroPoints], 1, OnnxFormat.MicrosoftDomain,
            Attr.Int("K", k), Attr.Int("N", n), Attr.Int("bits", bits), Attr.Int("block_size", blockSize), Attr.Int("accuracy_level", accuracyLevel))[0];

    /// <summary>Dimension <paramref name="axis"/> of <paramref name="x"/> as a 1-element int64 tensor.</summary>
    public string Dim(string x, long axis) => Gather(Shape(x), Int64s("axis", axis));
}
