using DesMoe.Formats.Architectures.Common;
using DesMoe.Formats.Hub;

namespace DesMoe.Tests.Reference;

public static class ReferenceRotary
{
    /// <summary>The rotary embedding every layer shares, for heads of <paramref name="rotaryDim"/>.</summary>
    public static RotaryEmbedding CreateRotary(this CommonFields fields, int rotaryDim, RotaryLayout layout)
    {
        var (frequencies, attentionFactor) = RotaryFrequencies.For(fields.Rope, rotaryDim);
        return new RotaryEmbedding(rotaryDim, frequencies, attentionFactor, layout);
    }
}
