using DesMoe.Exporter.Graph;
using Xunit;

namespace DesMoe.Tests.Export;

public class BlockQuantizerTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    public void Each_weight_is_within_half_a_scale_of_its_value_and_zero_stays_exact(int bits)
    {
        var random = new Random(5);
        int n = 3, k = 70; // 70 = two full blocks of 32 and a padded one
        var weight = Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        weight[5] = 0;

        var q = BlockQuantizer.Quantize(weight, n, k, bits);

        Assert.Equal(3, q.Blocks);
        Assert.Equal(n * q.Blocks * 32 * bits / 8, q.Packed.Length);
        Assert.Equal(0f, q.Dequantized[5]);
        for (int row = 0; row < n; row++)
            for (int i = 0; i < k; i++)
            {
                float scale = q.Scales[row * q.Blocks + i / 32];
                Assert.InRange(Math.Abs(q.Dequantized[row * k + i] - weight[row * k + i]), 0, scale / 2 + 1e-6);
            }
    }

    [Fact]
    public void Four_bit_values_and_zero_points_pack_low_nibble_first()
    {
        // One row, one block: values 0..15 spread over [0, 1.5], so scale 0.1 and zero point 0.
        var weight = Enumerable.Range(0, 32).Select(i => (float)(i % 16) * 0.1f).ToArray();
        var q = BlockQuantizer.Quantize(weight, 1, 32, bits: 4);

        Assert.Equal(0.1f, q.Scales[0], 5);
        Assert.Equal(0, q.ZeroPoints[0]);
        Assert.Equal(0x10, q.Packed[0]); // q[0] = 0 low, q[1] = 1 high
        Assert.Equal(0xFE, q.Packed[7]); // q[14] = 14 low, q[15] = 15 high
    }
}
