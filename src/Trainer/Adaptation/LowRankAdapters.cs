using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// LoRA (the paper's fourth baseline) over a set of weight matrices W [out, in]: W = W0 + s B A with A [r, in]
/// random, B [out, r] zero (so W starts as W0) and s = alpha / r. The model keeps computing with its own W; after
/// backward, <see cref="ProjectGradients"/> turns W's gradient G into the factors' exact LoRA gradients
/// (dL/dB = s G A^T, dL/dA = s B^T G, since W is linear in B A), the optimizer steps A and B only, and
/// <see cref="Apply"/> writes W0 + s B A back. Training therefore follows LoRA step for step, and the result is a
/// plain (merged) model that exports and serves with no adapter at all.
/// </summary>
public sealed class LowRankAdapters : IDisposable
{
    private readonly List<(Parameter Weight, Tensor Original, Parameter A, Parameter B)> _targets = [];
    private readonly Scalar _scale;

    public LowRankAdapters(IEnumerable<Parameter> weights, int rank, double alpha)
    {
        if (rank <= 0) throw new ArgumentOutOfRangeException(nameof(rank), $"LoRA rank must be positive (got {rank})");
        _scale = (alpha / rank).ToScalar();
        using var noGrad = no_grad();
        foreach (var w in weights)
        {
            if (w.dim() != 2) throw new ArgumentException($"LoRA needs matrices; got a tensor of shape [{string.Join(", ", w.shape)}]");
            long outputs = w.shape[0], inputs = w.shape[1];
            // Kaiming-uniform A as in the reference implementation (bound 1/sqrt(in)); B zero.
            var a = new Parameter(empty(rank, inputs).uniform_(-1 / Math.Sqrt(inputs), 1 / Math.Sqrt(inputs)).DetachFromDisposeScope());
            var b = new Parameter(zeros(outputs, rank).DetachFromDisposeScope());
            _targets.Add((w, w.detach().clone().DetachFromDisposeScope(), a, b));
        }
        Rank = rank;
    }

    public int Rank { get; }

    /// <summary>The factors, what the optimizer steps.</summary>
    public IEnumerable<Parameter> Parameters => _targets.SelectMany(t => new[] { t.A, t.B });

    /// <summary>Trainable parameter count: r (in + out) per matrix.</summary>
    public long Count => _targets.Sum(t => t.A.numel() + t.B.numel());

    /// <summary>Moves each W's gradient onto its factors and clears it. Call between backward and clipping.</summary>
    public void ProjectGradients()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (weight, _, a, b) in _targets)
        {
            var g = weight.grad;
            if (g is null) continue;
            b.grad = g.matmul(a.t()).mul(_scale).DetachFromDisposeScope();
            a.grad = b.t().matmul(g).mul(_scale).DetachFromDisposeScope();
            weight.grad = null;
        }
    }

    /// <summary>W = W0 + s B A, after each optimizer step.</summary>
    public void Apply()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (weight, original, a, b) in _targets) weight.copy_(original.add(b.matmul(a), _scale));
    }

    public void Dispose()
    {
        foreach (var (_, original, a, b) in _targets)
        {
            original.Dispose();
            a.Dispose();
            b.Dispose();
        }
        _scale.Dispose();
    }
}
