using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DesMoe.Torch.Tensors;

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

    /// <summary>
    /// The float32 size of a weight above which a product that records no gradient runs in slices of the weight's
    /// rows: widening a bf16 LM head of 151,936 x 2,048 for one product would cost 1.2 GB, half of a one-layer
    /// Qwen1.5-MoE checkpoint, each time (what an export's reference decoding did).
    /// </summary>
    public const long SliceAboveBytes = 64L << 20;

    /// <summary><paramref name="layer"/>(<paramref name="x"/>) computed in x's dtype, whatever dtype the layer holds its weight in.</summary>
    public static Tensor Apply(this Linear layer, Tensor x) => Linear(x, layer.weight!, layer.bias);

    /// <summary>
    /// x W^T + b in x's dtype. When no gradient is recorded and the weight is large, in slices of at most
    /// <paramref name="sliceBytes"/> of the widened weight, whatever its dtype, so a model holding bf16 weights and the same model
    /// widened still take the same path. With a gradient to record, a frozen 16-bit weight goes through
    /// <see cref="FrozenLinear"/> (nothing float32 kept for backward); any other weight is widened whole.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, long sliceBytes = SliceAboveBytes)
    {
        long rows = weight.shape[0], rowBytes = weight.shape[1] * x.ElementSize;
        bool recording = is_grad_enabled() && (x.requires_grad || weight.requires_grad || bias?.requires_grad == true);
        if (recording && weight.dtype != x.dtype && !weight.requires_grad && bias?.requires_grad != true)
            return FrozenLinear.Apply(x, weight, bias); // a frozen 16-bit weight: its float32 copy need not wait for backward
        if (recording || rows * rowBytes <= sliceBytes)
        {
            if (weight.dtype == x.dtype && (bias is null || bias.dtype == x.dtype)) return nn.functional.linear(x, weight, bias);
            using var widened = recording ? weight.to(x.dtype) : Widen(weight, x.dtype);
            using var widenedBias = bias?.to(x.dtype);
            return nn.functional.linear(x, widened, widenedBias);
        }
        var output = empty([.. x.shape[..^1], rows], dtype: x.dtype, device: x.device);
        foreach (var (row, count) in RowSlices.Of(rows, rowBytes, sliceBytes))
        {
            using var weightSlice = weight.narrow(0, row, count);
            using var biasSlice = bias?.narrow(0, row, count);
            using var slice = Linear(x, weightSlice, biasSlice, long.MaxValue);
            using var columns = output.narrow(-1, row, count);
            columns.copy_(slice); // one slice's output at a time beside the result, not every slice's and then their concatenation
        }
        return output;
    }

    /// <summary>
    /// <paramref name="y"/> W, W widened (in slices of its rows past <paramref name="sliceBytes"/>, their products summed):
    /// the gradient of x W^T with respect to x, for <see cref="FrozenLinear"/>.
    /// </summary>
    public static Tensor TransposedProduct(Tensor y, Tensor weight, long sliceBytes = SliceAboveBytes)
    {
        Tensor? sum = null;
        foreach (var (row, count) in RowSlices.Of(weight.shape[0], weight.shape[1] * y.ElementSize, sliceBytes))
        {
            using var weightSlice = weight.narrow(0, row, count);
            using var ySlice = y.narrow(-1, row, count);
            using var widened = weight.dtype == y.dtype ? weightSlice.alias() : Widen(weightSlice, y.dtype);
            var product = matmul(ySlice, widened);
            if (sum is null) sum = product;
            else
                using (product) sum.add_(product, Scalars.One);
        }
        return sum!;
    }

    /// <summary>
    /// The float32 memory products that record no gradient widen their weights into, one buffer a thread, reused:
    /// decoding allocates no weight-sized blocks. Allocated and freed per product instead, megabytes each (every
    /// expert a token chose, three times), they left the C heap fragmented: it grew by 0.4-0.5 GiB over one prefill of
    /// a one-layer Qwen1.5-MoE, 0.1 GiB a decode step (an export's reference decoding, docs/hub-checkpoints.md). Its size is the largest weight
    /// widened, at most <see cref="SliceAboveBytes"/> where products are sliced.
    /// </summary>
    [ThreadStatic] private static Tensor? _widenBuffer;

    /// <summary><paramref name="weight"/> widened into this thread's buffer: a view valid until the next widening on the thread.</summary>
    private static Tensor Widen(Tensor weight, ScalarType type)
    {
        long count = weight.NumberOfElements;
        var buffer = _widenBuffer;
        if (buffer is null || buffer.NumberOfElements < count || buffer.dtype != type
            || buffer.device_type != weight.device_type || buffer.device_index != weight.device_index)
        {
            buffer?.Dispose();
            buffer = _widenBuffer = empty(count, dtype: type, device: weight.device).DetachFromDisposeScope();
        }
        using var used = buffer.narrow(0, 0, count);
        var view = used.view(weight.shape);
        view.copy_(weight);
        return view;
    }

    /// <summary>The embedding rows of <paramref name="ids"/> in float32.</summary>
    public static Tensor Lookup(this Embedding embedding, Tensor ids)
    {
        var rows = embedding.forward(ids);
        if (rows.dtype == ScalarType.Float32) return rows;
        using (rows) return rows.to(ScalarType.Float32);
    }
}
