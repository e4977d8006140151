using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DesMoe.Torch.Model;

/// <summary>
/// A model may hold its large weights (embeddings, attention, experts, LM head) in the checkpoint's 16-bit dtype
/// (bf16 or fp16), so a frozen weight costs in memory what it costs on disk. Every product still computes in the
/// activations' float32: a weight is widened for each use, which is exact, so a model that holds its weights in
/// bf16 computes bit for bit what it computes with them widened at load. What trains is held in float32
/// (<see cref="MoeTransformer.HoldInFloat32"/>): optimizer updates need the precision.
/// </summary>
public static class StoredWeights
{
    /// <summary>The dtypes weights may be held in.</summary>
    public static bool CanHold(ScalarType type) => type is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16;

    /// <summary><paramref name="layer"/>(<paramref name="x"/>) computed in x's dtype, whatever dtype the layer holds its weight in.</summary>
    public static Tensor Apply(this Linear layer, Tensor x)
    {
        if (layer.weight.dtype == x.dtype) return layer.forward(x);
        using var weight = layer.weight.to(x.dtype);
        using var bias = layer.bias?.to(x.dtype);
        return nn.functional.linear(x, weight, bias);
    }

    /// <summary>The embedding rows of <paramref name="ids"/> in float32.</summary>
    public static Tensor Lookup(this Embedding embedding, Tensor ids)
    {
        var rows = embedding.forward(ids);
        if (rows.dtype == ScalarType.Float32) return rows;
        using (rows) return rows.to(ScalarType.Float32);
    }

    /// <summary><paramref name="weight"/> as a float32 tensor (the tensor itself when it is one already); the caller disposes it.</summary>
    public static Tensor Widened(Tensor weight) => weight.dtype == ScalarType.Float32 ? weight.alias() : weight.to(ScalarType.Float32);
}
