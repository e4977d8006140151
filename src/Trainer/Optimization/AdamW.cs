using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Trainer.Optimization;

/// <summary>
/// AdamW (decoupled weight decay), the one optimizer step every trainer here uses. The update is TorchSharp's
/// <c>optim.AdamW</c> op for op (so results do not move), but every Scalar it hands to libtorch lives in a
/// <c>using</c> local for the duration of the call: TorchSharp's own step passes temporaries (<c>mul_(beta1)</c>,
/// <c>addcmul_(.., value: 1 - beta2)</c>) that a concurrent GC can finalize while native code reads them, which
/// failed adaptation jobs at random (<c>c10/core/Scalar.h</c> INTERNAL ASSERT). Moments are created at
/// construction; a parameter without a gradient is skipped, as in TorchSharp.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _expAvg, _expAvgSq;
    private readonly double _beta1, _beta2, _epsilon, _weightDecay;
    private long _step;

    public AdamW(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.95, double epsilon = 1e-8, double weightDecay = 0)
    {
        if (!(learningRate > 0) || double.IsInfinity(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be a positive finite number");
        _parameters = parameters.ToArray();
        LearningRate = learningRate;
        (_beta1, _beta2, _epsilon, _weightDecay) = (beta1, beta2, epsilon, weightDecay);
        using var noGrad = no_grad();
        _expAvg = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _expAvgSq = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    public double LearningRate { get; set; }
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Zeroes the gradients that exist (TorchSharp's zero_grad: it zeroes rather than dropping them).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    public void Step()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        _step++;
        double correction1 = 1 - Math.Pow(_beta1, _step), correction2 = 1 - Math.Pow(_beta2, _step);
        using var decay = (1 - LearningRate * _weightDecay).ToScalar();
        using var beta1 = _beta1.ToScalar();
        using var oneMinusBeta1 = (1 - _beta1).ToScalar();
        using var beta2 = _beta2.ToScalar();
        using var oneMinusBeta2 = (1 - _beta2).ToScalar();
        using var sqrtCorrection2 = Math.Sqrt(correction2).ToScalar();
        using var epsilon = _epsilon.ToScalar();
        using var stepSize = (-(LearningRate / correction1)).ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var param = _parameters[i];
            var grad = param.grad;
            if (grad is null) continue;
            param.mul_(decay);
            _expAvg[i].mul_(beta1).add_(grad, alpha: oneMinusBeta1);
            _expAvgSq[i].mul_(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
            var denominator = (_expAvgSq[i].sqrt() / sqrtCorrection2).add_(epsilon, Scalars.One);
            param.addcdiv_(_expAvg[i], denominator, value: stepSize);
        }
    }

    /// <summary>
    /// Writes the step count, both moments and which parameters hold a gradient (safetensors), for a checkpoint.
    /// The last matters for an exact resume: zeroed gradients stay defined, so a parameter that got no gradient in a
    /// step (an expert no token chose) is still updated from its moments in an uninterrupted run.
    /// </summary>
    public void Save(string path)
    {
        var hasGrad = _parameters.Select(p =>
        {
            using var grad = p.grad;
            return grad is null ? 0L : 1L;
        }).ToArray();
        var state = new Dictionary<string, Tensor> { [StepKey] = tensor(new[] { _step }), [HasGradKey] = tensor(hasGrad) };
        for (int i = 0; i < _parameters.Length; i++)
        {
            state[$"exp_avg.{i}"] = _expAvg[i];
            state[$"exp_avg_sq.{i}"] = _expAvgSq[i];
        }
        Safetensors.SaveStateDict(path, state);
        state[StepKey].Dispose();
        state[HasGradKey].Dispose();
    }

    private const string StepKey = "step", HasGradKey = "has_grad";

    /// <summary>Restores what <see cref="Save"/> wrote for the same parameters, failing with the first mismatch.</summary>
    public void Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no optimizer state at {path}", path);
        var state = Safetensors.LoadStateDict(path);
        try
        {
            if (!state.TryGetValue(StepKey, out var step)) throw new InvalidDataException($"{path}: no '{StepKey}' entry");
            if (!state.TryGetValue(HasGradKey, out var hasGrad)) throw new InvalidDataException($"{path}: no '{HasGradKey}' entry");
            using var noGrad = no_grad();
            for (int i = 0; i < _parameters.Length; i++)
            {
                foreach (var (name, target) in new[] { ($"exp_avg.{i}", _expAvg[i]), ($"exp_avg_sq.{i}", _expAvgSq[i]) })
                {
                    if (!state.TryGetValue(name, out var stored)) throw new InvalidDataException($"{path}: no '{name}' for parameter {i} of {_parameters.Length}");
                    if (!stored.shape.SequenceEqual(target.shape))
                        throw new InvalidDataException($"{path}: '{name}' is [{string.Join(", ", stored.shape)}] but the parameter is [{string.Join(", ", target.shape)}]");
                    target.copy_(stored);
                }
            }
            if (state.Count != 2 + 2 * _parameters.Length || hasGrad.numel() != _parameters.Length)
                throw new InvalidDataException($"{path}: holds state for {(state.Count - 2) / 2} parameters, this optimizer has {_parameters.Length}");
            _step = step.item<long>();
            var withGrad = hasGrad.data<long>().ToArray();
            for (int i = 0; i < _parameters.Length; i++)
            {
                using var grad = _parameters[i].grad;
                if (withGrad[i] != 1 || grad is not null) continue;
                using var zero = zeros_like(_parameters[i]).DetachFromDisposeScope();
                _parameters[i].grad = zero; // libtorch keeps its own reference
            }
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var t in _expAvg.Concat(_expAvgSq)) t.Dispose();
    }
}
