using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace DesMoe.Analyzers;

/// <summary>
/// DESMOE001: a <c>TorchSharp.Scalar</c> handed to TorchSharp must stay reachable until the native call returns.
/// TorchSharp reads the Scalar's raw handle and calls native code without keeping the managed object alive, and
/// <c>Scalar</c> has a finalizer that frees the handle; a temporary (an implicit <c>double</c>/<c>int</c> conversion, or
/// <c>x.ToScalar()</c> written inline) can therefore be finalized by a concurrent GC while libtorch still reads it,
/// which surfaces rarely and at random as <c>INTERNAL ASSERT FAILED at c10/core/Scalar.h</c> or a corrupt value.
/// Allowed: a field (its owner keeps it alive), a local declared with <c>using</c> (disposed after the call, so
/// alive during it), a parameter (the caller's argument is checked where it is written), or null.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class TemporaryScalarAnalyzer : DiagnosticAnalyzer
{
    public const string Id = "DESMOE001";

    private static readonly DiagnosticDescriptor Rule = new(
        Id,
        "Temporary TorchSharp Scalar passed to native code",
        "'{0}' becomes a temporary TorchSharp Scalar that the GC may finalize while libtorch reads it: pass a field or a 'using' local",
        "Reliability",
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "TorchSharp does not keep a Scalar alive across the native call it is passed to.");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule, Hidden);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var scalar = start.Compilation.GetTypeByMetadataName("TorchSharp.Scalar");
            if (scalar is null) return; // the project does not use TorchSharp
            start.RegisterOperationAction(c => CheckArgument(c, scalar), OperationKind.Argument);
            start.RegisterOperationAction(c => CheckOperator(c, scalar), OperationKind.Binary);
            start.RegisterOperationAction(c => CheckHiddenTemporary(c, scalar), OperationKind.Invocation);
        });
    }

    private static void CheckArgument(OperationAnalysisContext context, INamedTypeSymbol scalar)
    {
        var argument = (IArgumentOperation)context.Operation;
        if (argument.Parameter is null || !SymbolEqualityComparer.Default.Equals(argument.Parameter.Type, scalar)) return;
        // Optional Scalar parameters left out are filled with a default value by the compiler (null for Scalar).
        if (argument.ArgumentKind == ArgumentKind.DefaultValue) return;
        Report(context, argument.Value);
    }

    /// <summary>
    /// TorchSharp's operators take a Scalar operand, or a primitive one that the operator itself turns into a
    /// temporary Scalar inside TorchSharp (<c>tensor / 2.0</c> is <c>left.div(right)</c> with an implicit conversion),
    /// which no caller can keep alive: both are reported unless the operand is a Scalar that is kept alive.
    /// </summary>
    private static void CheckOperator(OperationAnalysisContext context, INamedTypeSymbol scalar)
    {
        var binary = (IBinaryOperation)context.Operation;
        if (binary.OperatorMethod is not { } method || method.Parameters.Length != 2) return;
        if (!IsTensor(method.ContainingType)) return;
        if (method.Name == "op_Addition")
        {
            // Every Tensor '+' is add(x) = add(x, 1): TorchSharp makes the alpha Scalar itself, out of reach.
            context.ReportDiagnostic(Diagnostic.Create(Hidden, binary.Syntax.GetLocation(), "'+' on a Tensor", "x.add(y, Scalars.One)"));
            return;
        }
        CheckOperand(context, scalar, method.Parameters[0].Type, binary.LeftOperand);
        CheckOperand(context, scalar, method.Parameters[1].Type, binary.RightOperand);
    }

    private static void CheckOperand(OperationAnalysisContext context, INamedTypeSymbol scalar, ITypeSymbol parameterType, IOperation operand)
    {
        if (SymbolEqualityComparer.Default.Equals(parameterType, scalar)) Report(context, operand);
        else if (parameterType.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Single or SpecialType.System_Double)
            context.ReportDiagnostic(Diagnostic.Create(Rule, operand.Syntax.GetLocation(), operand.Syntax.ToString()));
    }

    /// <summary>
    /// TorchSharp methods that build a temporary Scalar inside themselves, out of any caller's reach: the
    /// alpha-less <c>add</c>/<c>add_</c> and value-less <c>addcdiv</c>/<c>addcdiv_</c> overloads (they pass a literal 1), and
    /// <c>Tensor.ToDouble()</c>-style readers (they go through <c>ToScalar()</c>).
    /// </summary>
    private static void CheckHiddenTemporary(OperationAnalysisContext context, INamedTypeSymbol scalar)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (IsTensor(method.ContainingType))
        {
            bool scaled = method.Parameters.Any(p => p.Name is "alpha" or "value");
            if (!scaled && method.Name is "add" or "add_" or "addcdiv" or "addcdiv_")
                context.ReportDiagnostic(Diagnostic.Create(Hidden, invocation.Syntax.GetLocation(), $"'{method.Name}' without a scale", $"{method.Name}(.., Scalars.One)"));
        }
        else if (method.ContainingType?.ToDisplayString() == "TorchSharp.TensorExtensionMethods" && method.IsExtensionMethod
                 && method.Name.StartsWith("To", System.StringComparison.Ordinal) && method.Parameters.Length == 1 && IsTensor(method.Parameters[0].Type))
        {
            if (method.ReturnType.SpecialType is not SpecialType.None)
                context.ReportDiagnostic(Diagnostic.Create(Hidden, invocation.Syntax.GetLocation(), $"'{method.Name}()'", "item<T>()"));
        }
    }

    private static readonly DiagnosticDescriptor Hidden = new(
        "DESMOE002",
        "TorchSharp call that builds a temporary Scalar internally",
        "{0} makes TorchSharp build a temporary Scalar that the GC may finalize while libtorch reads it: write {1}",
        "Reliability",
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Some TorchSharp overloads convert a literal to a Scalar themselves; no caller can keep that one alive.");

    private static bool IsTensor(ITypeSymbol? type) => type?.ToDisplayString() == "TorchSharp.torch.Tensor" || type?.ToDisplayString() == "TorchSharp.Modules.Parameter";

    private static void Report(OperationAnalysisContext context, IOperation value)
    {
        if (KeptAlive(value)) return;
        context.ReportDiagnostic(Diagnostic.Create(Rule, value.Syntax.GetLocation(), value.Syntax.ToString()));
    }

    private static bool KeptAlive(IOperation value)
    {
        switch (value)
        {
            case IFieldReferenceOperation:
            case IParameterReferenceOperation:
                return true;
            case ILiteralOperation literal when literal.ConstantValue is { HasValue: true, Value: null }:
                return true;
            case IDefaultValueOperation:
                return true;
            case ILocalReferenceOperation local:
                return IsUsingLocal(local.Local);
            case IConversionOperation { OperatorMethod: null } conversion: // e.g. a cast that does not create a Scalar
                return KeptAlive(conversion.Operand);
            default:
                return false;
        }
    }

    private static bool IsUsingLocal(ILocalSymbol local)
    {
        foreach (var reference in local.DeclaringSyntaxReferences)
        {
            var node = reference.GetSyntax();
            if (node.Parent is VariableDeclarationSyntax declaration)
            {
                if (declaration.Parent is LocalDeclarationStatementSyntax statement && statement.UsingKeyword.IsKind(SyntaxKind.UsingKeyword)) return true;
                if (declaration.Parent is UsingStatementSyntax) return true;
            }
        }
        return false;
    }
}
