using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

namespace DesMoe.Trainer.Optimization;

/// <summary>
/// AdamW (decoupled weight decay), the one optimizer every trainer here uses, with PyTorch's per-parameter state:
/// a parameter's moments and step count start at its first update and move only when it is updated. A parameter
/// without a gradient in a step (frozen, or an expert no trainable token reached) is skipped: no update, no weight
/// decay, its moments untouched. <see cref="ZeroGrad"/> drops the gradients (PyTorch's <c>set_to_none</c>), so one
/// that got none this step is never stepped on an old one, and one optimizer serves a whole run whose trainable set
/// changes (no restart, no momentum drift of what left the set).
/// <para>
/// <see cref="Restrict"/> narrows a parameter to some of its elements (router rows): the others keep their value and
/// moments, and each element's bias correction counts its own updates.
/// </para>
/// Every Scalar handed to libtorch lives in a <c>using</c> local for the call: TorchSharp's own step passes
/// temporaries that a concurrent GC can finalize while native code reads them, which failed adaptation jobs at random
/// (<c>c10/core/Scalar.h</c> INTERNAL ASSERT).
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly ParameterState?[] _state;
    private readonly Tensor?[] _elementMasks;
    private readonly double _beta1, _beta2, _epsilon, _weightDecay;
    /// <summary>Whether the parameters are large enough that handing freed memory back after each step pays (see <see cref="Step"/>).</summary>
    private readonly bool _trimsAfterStep;

    /// <summary>Above this many bytes of parameters a step's freed activations are worth a <c>malloc_trim</c>; below it the call would be most of a step.</summary>
    private const long TrimAboveBytes = 256L << 20;

    /// <param name="Step">updates taken (for a restricted parameter: by its elements, counted in <see cref="ElementSteps"/>)</param>
    /// <param name="ElementSteps">float [mask's shape] updates per element; null until the parameter is restricted</param>
    private sealed record ParameterState(Tensor ExpAvg, Tensor ExpAvgSq)
    {
        public long Step { get; set; }
        public Tensor? ElementSteps { get; set; }
        public IEnumerable<Tensor> Tensors => ElementSteps is null ? [ExpAvg, ExpAvgSq] : [ExpAvg, ExpAvgSq, ElementSteps];
    }

    public AdamW(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.95, double epsilon = 1e-8, double weightDecay = 0)
    {
        if (!(learningRate > 0) || double.IsInfinity(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be a positive finite number");
        _parameters = parameters.ToArray();
        _state = new ParameterState?[_parameters.Length];
        _elementMasks = new Tensor?[_parameters.Length];
        LearningRate = learningRate;
        (_beta1, _beta2, _epsilon, _weightDecay) = (beta1, beta2, epsilon, weightDecay);
        _trimsAfterStep = _parameters.Sum(p => p.numel() * p.ElementSize) > TrimAboveBytes;
    }

    public double LearningRate { get; set; }
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>How many updates the parameter has taken (its restricted elements' most, if restricted); 0 before the first.</summary>
    public long StepsOf(Parameter parameter) => _state[IndexOf(parameter)] is { } s ? s.ElementSteps is { } e ? (long)e.max().item<float>() : s.Step : 0;

    /// <summary>The parameter's moments (clones), or null before its first update: what tests check stays untouched.</summary>
    public (Tensor ExpAvg, Tensor ExpAvgSq)? MomentsOf(Parameter parameter) =>
        _state[IndexOf(parameter)] is { } s ? (s.ExpAvg.detach().clone(), s.ExpAvgSq.detach().clone()) : null;

    /// <summary>
    /// From now on only the elements where <paramref name="mask"/> is true move (value and moments); null lifts the
    /// restriction. The mask must broadcast to the parameter, e.g. [rows, 1] for a router's rows.
    /// </summary>
    public void Restrict(Parameter parameter, Tensor? mask)
    {
        int i = IndexOf(parameter);
        if (mask is not null)
        {
            if (mask.dtype != ScalarType.Bool) throw new ArgumentException($"an element mask must be bool, got {mask.dtype}", nameof(mask));
            long[] maskShape = mask.shape, shape = parameter.shape;
            bool broadcasts = maskShape.Length <= shape.Length
                              && maskShape.Reverse().Zip(shape.Reverse()).All(d => d.First == d.Second || d.First == 1);
            if (!broadcasts)
                throw new ArgumentException($"mask [{string.Join(", ", mask.shape)}] does not broadcast to the parameter's [{string.Join(", ", parameter.shape)}]", nameof(mask));
        }
        _elementMasks[i]?.Dispose();
        _elementMasks[i] = mask?.detach().clone().DetachFromDisposeScope();
    }

    /// <summary>Drops every gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>): a parameter backward does not reach stays without one.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            if (grad is not null) p.grad = null;
        }
    }

    public void Step()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var decay = (1 - LearningRate * _weightDecay).ToScalar();
        using var beta1 = _beta1.ToScalar();
        using var oneMinusBeta1 = (1 - _beta1).ToScalar();
        using var beta2 = _beta2.ToScalar();
        using var oneMinusBeta2 = (1 - _beta2).ToScalar();
        using var epsilon = _epsilon.ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            // Each update's temporaries (two of the parameter's size) go with it: held to the end of the step, they
            // were 4.6 GB at 571 M trainable parameters, more than the moments themselves.
            using var updateScope = NewDisposeScope();
            var param = _parameters[i];
            using var grad = param.grad;
            if (grad is null) continue;
            var state = _state[i] ??= new ParameterState(zeros_like(param).DetachFromDisposeScope(), zeros_like(param).DetachFromDisposeScope());
            if (_elementMasks[i] is { } mask) StepElements(param, grad, state, mask, decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon);
            else StepWhole(param, grad, state, decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon);
        }
        // The step's freed activations and temporaries stay in glibc's heap otherwise, and the next step's tensors of
        // other sizes do not reuse them: a DES-MoE step on a 2.17 GB DeepSeek-V2-Lite copy peaked 0.6 GiB higher.
        if (_trimsAfterStep) FreedMemory.ReturnToSystem();
    }

    /// <summary>TorchSharp's <c>optim.AdamW</c> update, op for op.</summary>
    private void StepWhole(Parameter param, Tensor grad, ParameterState state, Scalar decay, Scalar beta1, Scalar oneMinusBeta1, Scalar beta2,
        Scalar oneMinusBeta2, Scalar epsilon)
    {
        state.Step++;
        double correction1 = 1 - Math.Pow(_beta1, state.Step), correction2 = 1 - Math.Pow(_beta2, state.Step);
        using var sqrtCorrection2 = Math.Sqrt(correction2).ToScalar();
        using var stepSize = (-(LearningRate / correction1)).ToScalar();
        param.mul_(decay);
        state.ExpAvg.mul_(beta1).add_(grad, alpha: oneMinusBeta1);
        state.ExpAvgSq.mul_(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
        var denominator = (state.ExpAvgSq.sqrt() / sqrtCorrection2).add_(epsilon, Scalars.One);
        param.addcdiv_(state.ExpAvg, denominator, value: stepSize);
    }

    /// <summary>The same update where the mask allows it, with per-element bias correction; elsewhere nothing changes.</summary>
    private void StepElements(Parameter param, Tensor grad, ParameterState state, Tensor mask, Scalar decay, Scalar beta1, Scalar oneMinusBeta1,
        Scalar beta2, Scalar oneMinusBeta2, Scalar epsilon)
    {
        using var stepsSoFar = ((float)state.Step).ToScalar();
        using var logBeta1 = Math.Log(_beta1).ToScalar();
        using var logBeta2 = Math.Log(_beta2).ToScalar();
        using var learningRate = LearningRate.ToScalar();
        state.ElementSteps ??= full(mask.shape, stepsSoFar).DetachFromDisposeScope();
        state.ElementSteps.add_(mask.to_type(ScalarType.Float32), Scalars.One);
        state.Step = (long)state.ElementSteps.max().item<float>();
        var steps = state.ElementSteps.clamp_min(Scalars.One);
        var correction1 = steps.mul(logBeta1).exp_().neg_().add_(Scalars.One, Scalars.One);
        var sqrtCorrection2 = steps.mul(logBeta2).exp_().neg_().add_(Scalars.One, Scalars.One).sqrt_();

        var expAvg = state.ExpAvg.mul(beta1).add_(grad, alpha: oneMinusBeta1);
        var expAvgSq = state.ExpAvgSq.mul(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
        var update = expAvg.div(correction1).div_(expAvgSq.sqrt().div_(sqrtCorrection2).add_(epsilon, Scalars.One)).mul_(learningRate);
        var next = param.mul(decay).sub_(update);
        state.ExpAvg.copy_(where(mask, expAvg, state.ExpAvg));
        state.ExpAvgSq.copy_(where(mask, expAvgSq, state.ExpAvgSq));
        param.copy_(where(mask, next, param));
    }

    private int IndexOf(Parameter parameter)
    {
        int i = Array.FindIndex(_parameters, p => p.Handle == parameter.Handle);
        return i >= 0 ? i : throw new ArgumentException("the parameter is not one this optimizer updates", nameof(parameter));
    }

    /// <summary>
    /// Writes each updated parameter's step count and moments (and per-element counts where restricted) as
    /// safetensors, for a checkpoint. Element masks are not state: the trainer sets them again from its assignment.
    /// </summary>
    public void Save(string path)
    {
        var state = new Dictionary<string, Tensor> { [CountKey] = tensor(new[] { (long)_parameters.Length }) };
        var owned = new List<Tensor> { state[CountKey] };
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_state[i] is not { } s) continue;
            var step = tensor(new[] { s.Step });
            owned.Add(step);
            state[$"step.{i}"] = step;
            state[$"exp_avg.{i}"] = s.ExpAvg;
            state[$"exp_avg_sq.{i}"] = s.ExpAvgSq;
            if (s.ElementSteps is { } e) state[$"element_steps.{i}"] = e;
        }
        Safetensors.SaveStateDict(path, state);
        foreach (var t in owned) t.Dispose();
    }

    private const string CountKey = "parameters";

    /// <summary>Restores what <see cref="Save"/> wrote for the same parameters, failing with the first mismatch.</summary>
    public void Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no optimizer state at {path}", path);
        var stored = Safetensors.LoadStateDict(path);
        try
        {
            if (!stored.TryGetValue(CountKey, out var count))
                throw new InvalidDataException($"{path}: no '{CountKey}' entry (a checkpoint of an older trainer, whose optimizer restarted with the trainable set; start the run again)");
            if (count.item<long>() != _parameters.Length)
                throw new InvalidDataException($"{path}: holds state for {count.item<long>()} parameters, this optimizer has {_parameters.Length}");
            using var noGrad = no_grad();
            for (int i = 0; i < _parameters.Length; i++)
            {
                _state[i]?.Tensors.ToList().ForEach(t => t.Dispose());
                _state[i] = null;
                if (!stored.TryGetValue($"step.{i}", out var step)) continue;
                var s = new ParameterState(Read(stored, path, $"exp_avg.{i}", _parameters[i].shape), Read(stored, path, $"exp_avg_sq.{i}", _parameters[i].shape))
                    { Step = step.item<long>() };
                if (stored.TryGetValue($"element_steps.{i}", out var elementSteps)) s.ElementSteps = elementSteps.clone().DetachFromDisposeScope();
                _state[i] = s;
            }
        }
        finally
        {
            foreach (var t in stored.Values) t.Dispose();
        }
    }

    private static Tensor Read(Dictionary<string, Tensor> stored, string path, string name, long[] shape)
    {
        if (!stored.TryGetValue(name, out var value)) throw new InvalidDataException($"{path}: no '{name}'");
        if (!value.shape.SequenceEqual(shape))
            throw new InvalidDataException($"{path}: '{name}' is [{string.Join(", ", value.shape)}] but the parameter is [{string.Join(", ", shape)}]");
        return value.clone().DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var s in _state) s?.Tensors.ToList().ForEach(t => t.Dispose());
        foreach (var m in _elementMasks) m?.Dispose();
    }
}
