using DesMoe.Exporter.Onnx.Schema;
using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Exporter.Onnx;

/// <summary>
/// ONNX <c>If</c>: work that only some batches need (a domain's expert copies) is skipped, not run on empty tensors.
/// Branch bodies read the enclosing graphs' values and initializers by name (ONNX's outer scope), so code that builds
/// a branch calls the same op helpers as anywhere else; initializers it creates still go to the main graph.
/// </summary>
public sealed partial class GraphBuilder
{
    /// <summary>
    /// An <c>If</c> node on the one-element bool <paramref name="condition"/>: each branch's function adds its nodes
    /// and returns the value it yields (a value from outside the branch is passed through an Identity, as ONNX
    /// requires a branch's output to be its own). Returns the value the taken branch yielded.
    /// </summary>
    public string If(string condition, DataType type, Func<string> thenBranch, Func<string> elseBranch)
    {
        var name = UniqueName("If");
        var thenGraph = BuildBranch($"{name}/then", type, thenBranch);
        var elseGraph = BuildBranch($"{name}/else", type, elseBranch);
        return Node("If", [condition], 1, "",
            new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = thenGraph },
            new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = elseGraph })[0];
    }

    /// <summary>
    /// Builds in the main graph even from inside a branch: for values every run needs once, such as a weight's cast,
    /// which ONNX Runtime folds into a constant there and would recompute on every run of a branch.
    /// </summary>
    public T InMainGraph<T>(Func<T> build)
    {
        var open = _branches.ToArray(); // innermost first
        _branches.Clear();
        try
        {
            return build();
        }
        finally
        {
            foreach (var branch in open.Reverse()) _branches.Push(branch);
        }
    }

    private GraphProto BuildBranch(string name, DataType type, Func<string> build)
    {
        var branch = new Branch(new GraphProto { Name = name });
        _branches.Push(branch);
        try
        {
            var result = Resolve(build());
            if (!branch.Produced.Contains(result)) result = Identity(result);
            // Element type only: an output's rank and sizes are the ones the branch computes.
            branch.Graph.Output.Add(new ValueInfoProto { Name = result, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } } });
            return branch.Graph;
        }
        finally
        {
            _branches.Pop();
        }
    }

    /// <summary>The graph's nodes and, depth first, those of every branch inside them.</summary>
    private static IEnumerable<NodeProto> AllNodes(GraphProto graph)
    {
        foreach (var node in graph.Node)
        {
            yield return node;
            foreach (var attribute in node.Attribute)
                if (attribute.G is not null)
                    foreach (var inner in AllNodes(attribute.G)) yield return inner;
        }
    }

    private sealed record Branch(GraphProto Graph)
    {
        public HashSet<string> Produced { get; } = new(StringComparer.Ordinal);
    }
}
