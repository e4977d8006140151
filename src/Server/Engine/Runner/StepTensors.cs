using DesMoe.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Server.Engine.Runner;

/// <summary>A step's bound tensors; disposing frees the views this step made (not the KV views, which <see cref="KvStepTensors"/> owns).</summary>
internal sealed class StepTensors(OnnxBoundStep step, List<OrtValue> owned) : IDisposable
{
    public OnnxBoundStep Step { get; } = step;

    public void Dispose()
    {
        foreach (var v in owned) v.Dispose();
    }
}
