using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using static TorchSharp.torch;

namespace DesMoe.Torch.Training;

/// <summary>
/// A right-padded training batch for next-token prediction. Only completion tokens (and the end token) are
/// targets; prompt and padding positions carry <see cref="IgnoreIndex"/>.
/// </summary>
public sealed class SequenceBatch : IDisposable
{
    public const long IgnoreIndex = -100;
    /// <summary><see cref="IgnoreIndex"/> as a Scalar that outlives every native call (see <see cref="Tensors.Scalars"/>).</summary>
    public static readonly TorchSharp.Scalar IgnoreIndexScalar = TorchSharp.ScalarExtensionMethods.ToScalar(IgnoreIndex);

    private SequenceBatch(Tensor inputIds, Tensor targets, Tensor attentionMask, long targetTokens, long inputTokens)
    {
        InputIds = inputIds;
        Targets = targets;
        AttentionMask = attentionMask;
        TargetTokens = targetTokens;
        InputTokens = inputTokens;
    }

    /// <summary>[batch, seq] token ids.</summary>
    public Tensor InputIds { get; }
    /// <summary>[batch, seq] next-token targets, <see cref="IgnoreIndex"/> where no loss is taken.</summary>
    public Tensor Targets { get; }
    /// <summary>[batch, seq] true for real (non-padding) tokens.</summary>
    public Tensor AttentionMask { get; }
    public long TargetTokens { get; }
    public long InputTokens { get; }

    public static SequenceBatch Create(ITextTokenizer tokenizer, IReadOnlyList<Example> examples, int maxPositions)
    {
        if (examples.Count == 0) throw new ArgumentException("cannot build a batch from zero examples", nameof(examples));
        var encoded = examples.Select((e, i) =>
        {
            var (ids, start) = PromptFormat.EncodeExample(tokenizer, e.Prompt, e.Completion);
            if (ids.Count > maxPositions)
                throw new DataFormatException($"example {i} is {ids.Count} tokens long, over the model's {maxPositions} positions (prompt: \"{Truncate(e.Prompt)}\")");
            return (ids, start);
        }).ToList();

        int length = encoded.Max(e => e.ids.Count) - 1;
        var inputs = new long[examples.Count * length];
        var targets = new long[examples.Count * length];
        var mask = new bool[examples.Count * length];
        long targetTokens = 0, inputTokens = 0;
        Array.Fill(inputs, tokenizer.Special.Pad);
        Array.Fill(targets, IgnoreIndex);
        for (int row = 0; row < encoded.Count; row++)
        {
            var (ids, start) = encoded[row];
            for (int t = 0; t < ids.Count - 1; t++)
            {
                int at = row * length + t;
                inputs[at] = ids[t];
                mask[at] = true;
                inputTokens++;
                if (t + 1 >= start)
                {
                    targets[at] = ids[t + 1];
                    targetTokens++;
                }
            }
        }
        long[] shape = [examples.Count, length];
        return new SequenceBatch(tensor(inputs, shape), tensor(targets, shape), tensor(mask, shape), targetTokens, inputTokens);
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";

    public void Dispose()
    {
        InputIds.Dispose();
        Targets.Dispose();
        AttentionMask.Dispose();
    }
}
