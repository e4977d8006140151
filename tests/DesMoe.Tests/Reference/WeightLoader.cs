using DesMoe.Torch.Safetensors;
using static TorchSharp.torch;
using DesMoe.Formats.Architectures;
using DesMoe.Formats.Hub;

namespace DesMoe.Tests.Reference;

/// <summary>
/// Copies checkpoint tensors into a module's parameters by name, one tensor at a time (each is read from disk,
/// converted to the parameter's dtype by <c>copy_</c>, and released before the next), so peak memory is the model
/// plus one tensor. Names and shapes are checked against the module before anything is copied.
/// </summary>
public static class WeightLoader
{
    /// <summary>
    /// Checkpoint tensors that carry no weights: rotary inverse-frequency buffers some exporters saved. The module
    /// recomputes them from the config.
    /// </summary>
    public static void Load(nn.Module module, SafetensorsCheckpoint checkpoint, bool tieWordEmbeddings)
    {
        var parameters = module.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        Verify(parameters, checkpoint, tieWordEmbeddings);
        foreach (var (name, parameter) in parameters)
            checkpoint.FileOf(name).CopyInto(name, parameter);
    }

    private static void Verify(IReadOnlyDictionary<string, Tensor> parameters, SafetensorsCheckpoint checkpoint, bool tieWordEmbeddings)
    {
        var missing = parameters.Keys.Where(name => !checkpoint.Contains(name)).Order(StringComparer.Ordinal).ToList();
        // A tied checkpoint may still carry lm_head.weight (a copy of the embeddings); transformers ignores it too.
        var unexpected = checkpoint.Tensors.Select(t => t.Name)
            .Where(name => !parameters.ContainsKey(name) && !TensorNames.IsDerivedBuffer(name) && !(tieWordEmbeddings && name == "lm_head.weight"))
            .Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing {Describe(missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected {Describe(unexpected)}");
            throw new HubModelException($"checkpoint does not match the architecture: {string.Join("; ", parts)}");
        }
        foreach (var (name, parameter) in parameters)
        {
            var info = checkpoint.Info(name);
            if (!info.Shape.SequenceEqual(parameter.shape))
                throw new HubModelException($"tensor '{name}' has shape {info.ShapeText} in the checkpoint but the model expects {ShapeFormat.Of(parameter.shape)}");
            if (!SafetensorsDType.IsFloatingPoint(info.DType))
                throw new HubModelException($"tensor '{name}' is stored as {info.DType}; weights must be F32, F16, BF16 or F64");
        }
    }

    /// <summary>The first few names and how many more: one line even when a whole layer is missing.</summary>
    private static string Describe(IReadOnlyList<string> names)
    {
        const int Shown = 5;
        var shown = string.Join(", ", names.Take(Shown).Select(n => $"'{n}'"));
        return names.Count > Shown ? $"{names.Count} tensors ({shown}, ...)" : $"{(names.Count == 1 ? "tensor" : "tensors")} {shown}";
    }
}
