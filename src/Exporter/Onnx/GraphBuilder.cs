using DesMoe.Exporter.Onnx.Schema;
using Google.Protobuf;
using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Exporter.Onnx;

/// <summary>
/// Appends nodes, initializers and graph inputs/outputs to an ONNX <see cref="GraphProto"/>. Every op helper
/// returns the name of the value it produces, so graph code reads like the computation it describes.
/// Node and value names are unique and carry the current <see cref="Scope"/> (e.g. <c>layers.2/moe/expert.7/MatMul_3</c>).
/// </summary>
public sealed partial class GraphBuilder(string name)
{
    private readonly Dictionary<string, int> _used = new(StringComparer.Ordinal);
    private readonly Stack<string> _scopes = new();
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _renamed = new(StringComparer.Ordinal);
    private readonly Stack<Branch> _branches = new();

    public GraphProto Graph { get; } = new() { Name = name };

    /// <summary>Domains of the operators used so far ("" = the default ONNX domain).</summary>
    public ISet<string> OperatorDomains { get; } = new HashSet<string>();

    public IDisposable Scope(string scope)
    {
        _scopes.Push(scope);
        return new PopScope(_scopes);
    }

    /// <summary>Declares a graph input; a dimension is a <see cref="long"/> size or a <see cref="string"/> symbolic name.</summary>
    public string Input(string inputName, DataType type, params object[] dims)
    {
        Graph.Input.Add(ValueInfo(inputName, type, dims));
        return inputName;
    }

    /// <summary>
    /// Declares <paramref name="value"/> as the graph output <paramref name="outputName"/>. A value a node produces is
    /// renamed in place (and in every node that reads it, before or after), so ONNX Runtime writes the output directly:
    /// an Identity would copy it on every run, which for a KV cache output is a copy of the whole cache every step.
    /// Only a graph input or a value already declared under another name goes through an Identity.
    /// </summary>
    public void Output(string value, string outputName, DataType type, params object[] dims)
    {
        if (_branches.Count > 0) throw new InvalidOperationException($"graph output '{outputName}' declared inside the branch '{_branches.Peek().Graph.Name}'");
        value = Resolve(value);
        if (value != outputName && !TryRename(value, outputName)) AddNode("Identity", [value], [outputName], "");
        Graph.Output.Add(ValueInfo(outputName, type, dims));
    }

    private bool TryRename(string value, string outputName)
    {
        if (Graph.Output.Any(o => o.Name == value) || !_producers.Remove(value, out var producer)) return false;
        for (int i = 0; i < producer.Output.Count; i++)
            if (producer.Output[i] == value) producer.Output[i] = outputName;
        foreach (var node in AllNodes(Graph))
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == value) node.Input[i] = outputName;
        _producers[outputName] = producer;
        _renamed[value] = outputName;
        return true;
    }

    /// <summary>The name <paramref name="value"/> has now (a value renamed to a graph output is read under that name).</summary>
    private string Resolve(string value) => _renamed.GetValueOrDefault(value, value);

    /// <summary>When set, initializers' bytes go to this side file as they are added (see <see cref="ExternalDataFile"/>).</summary>
    public ExternalDataFile? ExternalData { get; set; }

    public string Initializer(TensorProto tensor)
    {
        ExternalData?.Take(tensor);
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A constant tensor stored as an initializer; its name is derived from <paramref name="hint"/>.</summary>
    public string Constant(string hint, TensorProto tensor)
    {
        tensor.Name = UniqueName("const." + hint);
        return Initializer(tensor);
    }

    public string Int64s(string hint, params long[] values) => Constant(hint, Tensors.Int64(values, [values.Length]));
    public string Int64Scalar(string hint, long value) => Constant(hint, Tensors.Int64([value], []));
    public string FloatScalar(string hint, float value) => Constant(hint, Tensors.Float([value], []));

    /// <summary>Adds one node and returns the names of its <paramref name="outputCount"/> outputs.</summary>
    public string[] Node(string opType, IReadOnlyList<string> inputs, int outputCount, string domain = "", params AttributeProto[] attributes)
    {
        var baseName = UniqueName(opType);
        var outputs = Enumerable.Range(0, outputCount).Select(i => outputCount == 1 ? baseName : $"{baseName}:{i}").ToArray();
        AddNode(opType, inputs, outputs, domain, attributes, baseName);
        return outputs;
    }

    public string Op(string opType, params string[] inputs) => Node(opType, inputs, 1)[0];

    public string Op(string opType, string[] inputs, params AttributeProto[] attributes) => Node(opType, inputs, 1, "", attributes)[0];

    private void AddNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string domain,
        AttributeProto[]? attributes = null, string? nodeName = null)
    {
        var node = new NodeProto { OpType = opType, Domain = domain, Name = nodeName ?? UniqueName(opType) };
        node.Input.AddRange(inputs.Select(Resolve));
        node.Output.AddRange(outputs);
        // Only the main graph's values can become graph outputs; a branch's stay inside it.
        if (_branches.TryPeek(out var branch)) branch.Produced.UnionWith(outputs);
        else foreach (var output in outputs) _producers[output] = node;
        if (attributes is not null) node.Attribute.AddRange(attributes);
        (branch?.Graph ?? Graph).Node.Add(node);
        OperatorDomains.Add(domain);
    }

    private string UniqueName(string hint)
    {
        var scoped = _scopes.Count == 0 ? hint : string.Join("/", _scopes.Reverse()) + "/" + hint;
        int n = _used.GetValueOrDefault(scoped);
        _used[scoped] = n + 1;
        return n == 0 ? scoped : $"{scoped}_{n}";
    }

    private static ValueInfoProto ValueInfo(string valueName, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(dim switch
            {
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                _ => throw new ArgumentException($"dimension {dim} of '{valueName}' must be a size or a symbolic name"),
            });
        return new ValueInfoProto
        {
            Name = valueName,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private sealed class PopScope(Stack<string> scopes) : IDisposable
    {
        public void Dispose() => scopes.Pop();
    }
}

/// <summary>Node attributes.</summary>
public static class Attr
{
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };
}
