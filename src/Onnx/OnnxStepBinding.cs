using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Onnx;

/// <summary>
/// Runs decode steps through an <see cref="OrtIoBinding"/> of the decoder's session: the caller's tensors are bound
/// as inputs and as outputs, so ONNX Runtime allocates no outputs and hands nothing back to copy. The binding and
/// run options are made once and reused; the bindings are cleared after every step, so no tensor outlives its step
/// in here. Tensors in device memory (their own <see cref="OrtMemoryInfo"/>) bind the same way. One caller at a time.
/// </summary>
public sealed class OnnxStepBinding : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _pastKeys, _pastValues, _presentKeys, _presentValues, _routerExperts;

    /// <param name="layers">decoder layers, each with a past and a present</param>
    /// <param name="routedLayers">MoE layers reporting their routed experts (0 when the model reports none)</param>
    /// <param name="reportsTopTokens">whether the graph has the <see cref="OnnxNames.TopTokens"/> output</param>
    internal OnnxStepBinding(InferenceSession session, int layers, int routedLayers, bool reportsTopTokens)
    {
        ReportsTopTokens = reportsTopTokens;
        _session = session;
        _binding = session.CreateIoBinding();
        _pastKeys = Enumerable.Range(0, layers).Select(OnnxNames.PastKey).ToArray();
        _pastValues = Enumerable.Range(0, layers).Select(OnnxNames.PastValue).ToArray();
        _presentKeys = Enumerable.Range(0, layers).Select(OnnxNames.PresentKey).ToArray();
        _presentValues = Enumerable.Range(0, layers).Select(OnnxNames.PresentValue).ToArray();
        _routerExperts = Enumerable.Range(0, routedLayers).Select(OnnxNames.RouterExperts).ToArray();
    }

    public int Layers => _pastKeys.Length;

    /// <summary>Whether the model reports the routed experts, which <see cref="OnnxBoundStep.RouterExperts"/> must then bind (one per MoE layer).</summary>
    public bool ReportsRouting => _routerExperts.Length > 0;

    /// <summary>Whether the graph outputs its likeliest tokens, which <see cref="OnnxBoundStep.TopTokens"/> may then bind.</summary>
    public bool ReportsTopTokens { get; }

    public void Run(OnnxBoundStep step)
    {
        if (step.TopTokens is not null && !ReportsTopTokens)
            throw new ArgumentException("top tokens were bound, but the model has no top_tokens output", nameof(step));
        if (step.Logits is null && step.TopTokens is null)
            throw new ArgumentException("a step must bind the logits or the top tokens: neither was bound", nameof(step));
        Require(step.PastKeys, "past keys");
        Require(step.PastValues, "past values");
        Require(step.PresentKeys, "present keys");
        Require(step.PresentValues, "present values");
        if (step.RouterExperts.Count != _routerExperts.Length)
            throw new ArgumentException($"the model reports routed experts for {_routerExperts.Length} layers; {step.RouterExperts.Count} were bound", nameof(step));
        try
        {
            _binding.BindInput(OnnxNames.InputIds, step.InputIds);
            _binding.BindInput(OnnxNames.AttentionMask, step.AttentionMask);
            _binding.BindInput(OnnxNames.PositionIds, step.PositionIds);
            _binding.BindInput(OnnxNames.DomainIds, step.DomainIds);
            for (int l = 0; l < Layers; l++)
            {
                _binding.BindInput(_pastKeys[l], step.PastKeys[l]);
                _binding.BindInput(_pastValues[l], step.PastValues[l]);
            }
            if (step.Logits is not null) _binding.BindOutput(OnnxNames.Logits, step.Logits);
            if (step.TopTokens is not null) _binding.BindOutput(OnnxNames.TopTokens, step.TopTokens);
            for (int l = 0; l < Layers; l++)
            {
                _binding.BindOutput(_presentKeys[l], step.PresentKeys[l]);
                _binding.BindOutput(_presentValues[l], step.PresentValues[l]);
            }
            for (int l = 0; l < _routerExperts.Length; l++) _binding.BindOutput(_routerExperts[l], step.RouterExperts[l]);
            _session.RunWithBinding(_runOptions, _binding);
        }
        finally
        {
            _binding.ClearBoundInputs();
            _binding.ClearBoundOutputs();
        }
    }

    private void Require(IReadOnlyList<OrtValue> perLayer, string what)
    {
        if (perLayer.Count != Layers) throw new ArgumentException($"the model has {Layers} layers; {perLayer.Count} {what} were bound");
    }

    public void Dispose()
    {
        _binding.Dispose();
        _runOptions.Dispose();
    }
}
