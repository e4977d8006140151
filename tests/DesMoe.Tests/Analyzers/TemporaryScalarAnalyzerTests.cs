using System.Collections.Immutable;
using DesMoe.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Xunit;

namespace DesMoe.Tests.Analyzers;

/// <summary>The build-time guard against temporary TorchSharp Scalars, run on small sources against the real TorchSharp.</summary>
public sealed class TemporaryScalarAnalyzerTests
{
    [Theory]
    [InlineData("x.masked_fill(m, -1e9f)", "DESMOE001")]
    [InlineData("x.index_add(0, i, x, 1.0)", "DESMOE001")]
    [InlineData("x.mul(0.5.ToScalar())", "DESMOE001")]
    [InlineData("x.pow(2)", "DESMOE001")]
    [InlineData("x * 0.5", "DESMOE001")]
    [InlineData("x + x", "DESMOE002")]
    [InlineData("x.add(x)", "DESMOE002")]
    [InlineData("x.add_(x)", "DESMOE002")]
    public void A_temporary_scalar_is_an_error(string expression, string rule)
    {
        var diagnostics = Analyze(expression);
        Assert.Contains(diagnostics, d => d.Id == rule);
    }

    [Theory]
    [InlineData("x.masked_fill(m, Kept)")]
    [InlineData("x.add(x, Kept)")]
    [InlineData("x * x")]
    [InlineData("UsingLocal(x)")]
    [InlineData("x.softmax(-1)")]
    public void A_scalar_that_outlives_the_call_is_fine(string expression) => Assert.Empty(Analyze(expression));

    private static ImmutableArray<Diagnostic> Analyze(string expression)
    {
        var source = $$"""
            using TorchSharp;
            using static TorchSharp.torch;
            public static class Probe
            {
                private static readonly Scalar Kept = 1.0.ToScalar();
                public static Tensor Run(Tensor x, Tensor m, Tensor i) => {{expression}};
                private static Tensor UsingLocal(Tensor x)
                {
                    using var half = 0.5.ToScalar();
                    return x.mul(half);
                }
            }
            """;
        var references = AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic && a.Location.Length > 0)
            .Select(a => MetadataReference.CreateFromFile(a.Location)).Append(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location));
        var compilation = CSharpCompilation.Create("probe", [CSharpSyntaxTree.ParseText(source)], references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return compilation.WithAnalyzers([new TemporaryScalarAnalyzer()]).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
    }
}
