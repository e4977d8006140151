using DesMoe.Formats.Architectures;
using DesMoe.Torch.Model;
using static TorchSharp.torch;

namespace DesMoe.Exporter.Graph;

/// <summary>Routed-expert weight storage in the exported graph.</summary>
public enum ExpertQuantization
{
    None,
    /// <summary>8-bit blockwise (ONNX Runtime <c>com.microsoft.MatMulNBits</c>, bits = 8): a quarter of fp32.</summary>
    Int8,
    /// <summary>4-bit blockwise (<c>MatMulNBits</c>, bits = 4): an eighth of fp32.</summary>
    Int4,
}

/// <summary>
/// What a quantized expert's matrix products compute in: <c>MatMulNBits</c>' <c>accuracy_level</c>. Float32 (level 0)
/// dequantizes the weights inside the kernel and multiplies in fp32, so the graph matches the dequantized model within
/// the export check's 1e-4. Int8 (level 4) also quantizes each block of 32 activations to int8 and uses integer dot
/// products (AVX-512 VNNI / AVX2 on x64): faster, at a logit error the export check bounds relative to the logits'
/// scale (<see cref="Export.ModelExporter.Int8ComputeTolerance"/>).
/// </summary>
public enum QuantizedCompute
{
    Float32,
    Int8,
}

/// <summary>One weight matrix in <c>MatMulNBits</c>' layout.</summary>
/// <param name="Packed">[N, blocks, blockSize * bits / 8] quantized values, two 4-bit values per byte low nibble first</param>
/// <param name="Scales">[N * blocks] one scale per block</param>
/// <param name="ZeroPoints">[N * ceil(blocks * bits / 8)] one zero point per block, packed like the values</param>
/// <param name="Dequantized">[N, K] what the kernel computes with: (q - zero point) * scale</param>
public sealed record QuantizedMatrix(byte[] Packed, float[] Scales, byte[] ZeroPoints, float[] Dequantized, int N, int K, int Blocks, int Bits, int BlockSize);

/// <summary>
/// Asymmetric blockwise quantization of a [N, K] weight (N outputs, K inputs: a linear layer's weight as stored),
/// blocks of <c>BlockSize</c> along K. Each block's range is widened to include 0, so 0 stays exact; the scale is
/// range / (2^bits - 1) and the zero point round(-min / scale). The error per weight is at most half a scale.
/// </summary>
public static class BlockQuantizer
{
    public const int BlockSize = 32;

    /// <summary><c>MatMulNBits</c>' <c>accuracy_level</c> for <paramref name="compute"/> (0: unset, fp32; 4: int8).</summary>
    public static int AccuracyLevel(QuantizedCompute compute) => compute == QuantizedCompute.Int8 ? 4 : 0;

    public static int Bits(ExpertQuantization quantization) => quantization switch
    {
        ExpertQuantization.Int8 => 8,
        ExpertQuantization.Int4 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(quantization), quantization, "not a quantized format"),
    };

    public static QuantizedMatrix Quantize(ReadOnlySpan<float> weight, int n, int k, int bits, int blockSize = BlockSize)
    {
        if (bits is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(bits), $"MatMulNBits here takes 4 or 8 bits, got {bits}");
        if (weight.Length != (long)n * k) throw new ArgumentException($"{weight.Length} values for a [{n}, {k}] matrix");
        int blocks = (k + blockSize - 1) / blockSize, blob = blockSize * bits / 8, qmax = (1 << bits) - 1;
        int zeroPointBytes = (blocks * bits + 7) / 8;
        var packed = new byte[n * blocks * blob];
        var scales = new float[n * blocks];
        var zeroPoints = new byte[n * zeroPointBytes];
        var dequantized = new float[n * k];
        for (int row = 0; row < n; row++)
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize, end = Math.Min(k, start + blockSize);
                float min = 0, max = 0;
                for (int i = start; i < end; i++)
                {
                    min = Math.Min(min, weight[row * k + i]);
                    max = Math.Max(max, weight[row * k + i]);
                }
                float scale = max > min ? (max - min) / qmax : 1f;
                int zeroPoint = Math.Clamp((int)MathF.Round(-min / scale), 0, qmax);
                scales[row * blocks + b] = scale;
                Pack(zeroPoints, row * zeroPointBytes, b, bits, zeroPoint);
                for (int i = 0; i < blockSize; i++)
                {
                    // Positions past K (the last block's padding) store the zero point: they dequantize to 0.
                    int q = start + i < end ? Math.Clamp((int)MathF.Round(weight[row * k + start + i] / scale) + zeroPoint, 0, qmax) : zeroPoint;
                    Pack(packed, (row * blocks + b) * blob, i, bits, q);
                    if (start + i < end) dequantized[row * k + start + i] = (q - zeroPoint) * scale;
                }
            }
        return new QuantizedMatrix(packed, scales, zeroPoints, dequantized, n, k, blocks, bits, blockSize);
    }

    private static void Pack(byte[] buffer, int offset, int index, int bits, int value)
    {
        if (bits == 8) buffer[offset + index] = (byte)value;
        else buffer[offset + index / 2] |= (byte)(index % 2 == 0 ? value : value << 4);
    }

    /// <summary>
    /// Replaces every routed expert's weights in <paramref name="model"/> with what the quantized graph computes with,
    /// so the export check (and a quality measurement) compares like with like.
    /// </summary>
    public static void RoundRoutedExperts(MoeTransformer model, ExpertQuantization quantization)
    {
        int bits = Bits(quantization);
        model.HoldInFloat32(IsRoutedExpertWeight); // the dequantized values are float32's, not bf16's
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters().Where(p => IsRoutedExpertWeight(p.name)))
        {
            using var scope = NewDisposeScope();
            int n = (int)parameter.shape[0], k = (int)parameter.shape[1];
            var q = Quantize(parameter.detach().contiguous().data<float>().ToArray(), n, k, bits);
            using var values = tensor(q.Dequantized, [n, k]);
            parameter.copy_(values);
        }
    }

    /// <summary><c>layers.{i}.mlp.experts.{e}.{gate,up,down}_proj.weight</c>: the routed experts, not the shared one.</summary>
    public static bool IsRoutedExpertWeight(string name) => name.Contains($".{TensorNames.Mlp}.{TensorNames.Experts}.") && name.EndsWith("_proj.weight");
}
