using DesMoe.Onnx;
using DesMoe.Exporter.Graph;
using DesMoe.Exporter.Onnx;
using DesMoe.Exporter.Onnx.Schema;
using Xunit;

namespace DesMoe.Tests.Export;

/// <summary>
/// What a decode step copies of the KV cache: each present is written once, by the Concat that appends the new
/// position, and attention reads it as it is. Parity with TorchSharp is checked elsewhere; these check that the
/// exporter adds no per-step copies of the cache (an Identity naming the output, an Expand repeating kv heads).
/// </summary>
public sealed class KvCachePathTests(ExportFixture fixture) : IClassFixture<ExportFixture>
{
    public static TheoryData<ExpertKernel> Kernels => new(Enum.GetValues<ExpertKernel>());

    private static GraphProto Graph(ExportFixture fixture, ExpertKernel kernel) =>
        ModelProto.Parser.ParseFrom(File.ReadAllBytes(fixture.Exports[kernel].ModelPath)).Graph;

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Every_present_is_written_by_the_concat_that_appends_the_new_position(ExpertKernel kernel)
    {
        var graph = Graph(fixture, kernel);
        int layers = graph.Input.Count(i => i.Name.StartsWith("past_key_values.") && i.Name.EndsWith(".key"));
        Assert.True(layers > 0);
        for (int l = 0; l < layers; l++)
            foreach (var (present, past) in new[] { (OnnxNames.PresentKey(l), OnnxNames.PastKey(l)), (OnnxNames.PresentValue(l), OnnxNames.PastValue(l)) })
            {
                var producer = Assert.Single(graph.Node, n => n.Output.Contains(present));
                Assert.Equal("Concat", producer.OpType);
                Assert.Equal(past, producer.Input[0]);
            }
        Assert.DoesNotContain(graph.Node, n => n.OpType == "Identity");
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Attention_reads_the_cache_without_repeating_kv_heads(ExpertKernel kernel)
    {
        var graph = Graph(fixture, kernel);
        var presents = graph.Output.Select(o => o.Name).Where(n => n.StartsWith("present.")).ToHashSet();
        var readers = graph.Node.Where(n => n.Input.Any(presents.Contains)).ToList();

        Assert.NotEmpty(readers);
        // The bundled model has 4 query heads over 2 kv heads, so a repeat would be needed if the graph did not group queries.
        Assert.All(readers, n => Assert.Contains(n.OpType, new[] { "MatMul", "Transpose" }));
        Assert.DoesNotContain(graph.Node, n => n.OpType == "Expand" && n.Input.Any(presents.Contains));
    }

    [Fact]
    public void An_output_that_is_already_declared_under_another_name_is_copied_not_renamed()
    {
        var g = new GraphBuilder("test");
        var x = g.Input("x", TensorProto.Types.DataType.Float, 2);
        var y = g.Op("Relu", x);
        g.Output(y, "first", TensorProto.Types.DataType.Float, 2);
        g.Output(y, "second", TensorProto.Types.DataType.Float, 2);
        var after = g.Op("Neg", y);

        var relu = Assert.Single(g.Graph.Node, n => n.OpType == "Relu");
        Assert.Equal("first", Assert.Single(relu.Output));
        var copy = Assert.Single(g.Graph.Node, n => n.OpType == "Identity");
        Assert.Equal(["first"], copy.Input);
        Assert.Equal(["second"], copy.Output);
        Assert.Equal(["first"], Assert.Single(g.Graph.Node, n => n.Output.Contains(after)).Input);
    }
}
