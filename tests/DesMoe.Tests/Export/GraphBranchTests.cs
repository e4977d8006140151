using DesMoe.Exporter.Onnx;
using DesMoe.Exporter.Onnx.Schema;
using DesMoe.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Xunit;
using DataType = DesMoe.Exporter.Onnx.Schema.TensorProto.Types.DataType;

namespace DesMoe.Tests.Export;

/// <summary><see cref="GraphBuilder.If"/>: branches built with the ordinary op helpers, run by ONNX Runtime.</summary>
public sealed class GraphBranchTests
{
    [Theory]
    [InlineData(true, new[] { 2f, -4f, 6f })]
    [InlineData(false, new[] { 1f, -2f, 3f })]
    public void The_taken_branch_computes_the_output(bool condition, float[] expected)
    {
        var g = new GraphBuilder("branches");
        var x = g.Input("x", DataType.Float, 3);
        var flag = g.Input("flag", DataType.Bool);
        var scale = g.FloatScalar("two", 2f); // an initializer of the main graph, read inside the branch
        var result = g.If(flag, DataType.Float, () => g.Mul(x, scale), () => x);
        g.Output(result, "y", DataType.Float, 3);

        Assert.Equal(expected, Run(g, [1f, -2f, 3f], condition));
        var node = Assert.Single(g.Graph.Node, n => n.OpType == "If");
        Assert.Equal("Mul", Assert.Single(node.Attribute.Single(a => a.Name == "then_branch").G.Node).OpType);
        Assert.Equal("Identity", Assert.Single(node.Attribute.Single(a => a.Name == "else_branch").G.Node).OpType); // a branch must produce its output
    }

    [Fact]
    public void A_value_read_inside_a_branch_and_then_declared_a_graph_output_is_renamed_inside_the_branch_too()
    {
        var g = new GraphBuilder("branches");
        var x = g.Input("x", DataType.Float, 3);
        var flag = g.Input("flag", DataType.Bool);
        var relu = g.Op("Relu", x);
        var result = g.If(flag, DataType.Float, () => g.Neg(relu), () => relu);
        g.Output(relu, "relu", DataType.Float, 3);
        g.Output(result, "y", DataType.Float, 3);

        Assert.Equal([-1f, 0f, -3f], Run(g, [1f, -2f, 3f], true));
        Assert.Equal([1f, 0f, 3f], Run(g, [1f, -2f, 3f], false));
    }

    [Fact]
    public void Nodes_built_for_the_main_graph_from_inside_a_branch_go_to_the_main_graph()
    {
        var g = new GraphBuilder("branches");
        var x = g.Input("x", DataType.Float, 3);
        var flag = g.Input("flag", DataType.Bool);
        var result = g.If(flag, DataType.Float, () => g.Add(x, g.InMainGraph(() => g.Neg(g.FloatScalar("one", 1f)))), () => x);
        g.Output(result, "y", DataType.Float, 3);

        Assert.Contains(g.Graph.Node, n => n.OpType == "Neg");
        Assert.Equal([0f, -3f, 2f], Run(g, [1f, -2f, 3f], true));
    }

    [Fact]
    public void A_graph_output_cannot_be_declared_inside_a_branch()
    {
        var g = new GraphBuilder("branches");
        var x = g.Input("x", DataType.Float, 3);
        var error = Assert.Throws<InvalidOperationException>(() => g.If(g.Input("flag", DataType.Bool), DataType.Float, () =>
        {
            g.Output(x, "inner", DataType.Float, 3);
            return x;
        }, () => x));
        Assert.Contains("'inner'", error.Message);
    }

    private static float[] Run(GraphBuilder g, float[] x, bool flag)
    {
        using var dir = new TempDirectory();
        var path = dir.File("branches.onnx");
        OnnxModelFile.Write(OnnxModelFile.Create(g, new Dictionary<string, string>()), path);
        using var session = new InferenceSession(path);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [x.Length]);
        using var condition = OrtValue.CreateTensorValueFromMemory(new[] { flag }, []);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, new Dictionary<string, OrtValue> { ["x"] = input, ["flag"] = condition }, ["y"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
