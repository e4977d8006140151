using DesMoe.Formats.Tokenization;

namespace DesMoe.Onnx.Generation;

public enum FinishReason
{
    EndOfText,
    Length,
    StopSequence,
}

/// <summary>One decoding step's outcome: the token chosen, text that may be shown now, and why generation ended (if it did).</summary>
public readonly record struct GenerationStep(int Token, string TextDelta, FinishReason? Finish)
{
    /// <summary>Whether <see cref="Token"/> belongs to the completion: the end token that ends it does not (it is not returned or counted).</summary>
    public bool IsCompletionToken => Finish != FinishReason.EndOfText;
}

/// <summary>
/// The per-request decoding state shared by every engine: picks tokens from logits, detects the end token, the
/// length limit and stop sequences, and releases text only once it can no longer turn out to be part of a stop sequence.
/// </summary>
public sealed class GenerationSession
{
    private readonly ITextTokenizer _tokenizer;
    private readonly TokenSampler _sampler;
    private readonly IReadOnlyList<string> _stops;
    private readonly int _maxNewTokens;
    private readonly IncrementalDetokenizer _text;
    private readonly int _banned;
    private int _released;

    /// <param name="ignoreEndOfText">never pick the end token, so generation runs to <paramref name="maxNewTokens"/> (benchmarks)</param>
    public GenerationSession(ITextTokenizer tokenizer, SamplingSettings sampling, int seed, int maxNewTokens, IReadOnlyList<string>? stops = null,
        bool ignoreEndOfText = false)
    {
        _tokenizer = tokenizer;
        _text = new IncrementalDetokenizer(tokenizer);
        _banned = ignoreEndOfText ? tokenizer.Special.End : -1;
        _sampler = new TokenSampler(sampling, new Random(seed));
        _maxNewTokens = maxNewTokens;
        _stops = stops?.Where(s => s.Length > 0).ToList() ?? [];
    }

    public string Text { get; private set; } = "";

    /// <summary>Whether the request picks greedily, so <see cref="StepGreedy"/> can stand in for <see cref="Step"/>.</summary>
    public bool IsGreedy => _sampler.IsGreedy;

    public GenerationStep Step(ReadOnlySpan<float> logits) => Accept(_sampler.Next(logits, _banned));

    /// <summary>
    /// The greedy step from the likeliest tokens alone (best first, at least two, lower id first among equals, as
    /// the exported graph's top_tokens): the same token <see cref="Step"/> picks from the logits.
    /// </summary>
    public GenerationStep StepGreedy(ReadOnlySpan<long> topTokens)
    {
        if (!IsGreedy) throw new InvalidOperationException("a sampling request needs the logits, not just the likeliest tokens");
        if (topTokens.Length < 2) throw new ArgumentException($"need the two likeliest tokens, got {topTokens.Length}", nameof(topTokens));
        return Accept((int)(topTokens[0] == _banned ? topTokens[1] : topTokens[0]));
    }

    private GenerationStep Accept(int token)
    {
        if (token == _tokenizer.Special.End) return new GenerationStep(token, Release(Text.Length), FinishReason.EndOfText);

        _text.Append(token);
        Text = _text.Text;
        foreach (var stop in _stops)
        {
            int at = Text.IndexOf(stop, Math.Max(0, _released - stop.Length + 1), StringComparison.Ordinal);
            if (at >= 0)
            {
                Text = Text[..at];
                return new GenerationStep(token, Release(at), FinishReason.StopSequence);
            }
        }
        if (_text.Tokens.Count >= _maxNewTokens) return new GenerationStep(token, Release(Text.Length), FinishReason.Length);
        return new GenerationStep(token, Release(SafeLength()), null);
    }

    /// <summary>Text that can be released now: not ending in an incomplete character nor in a prefix of a stop sequence.</summary>
    private int SafeLength()
    {
        int safe = Text.Length > 0 && Text[^1] == '\uFFFD' ? Text.Length - 1 : Text.Length;
        int hold = 0;
        foreach (var stop in _stops)
            for (int length = Math.Min(stop.Length - 1, safe); length > hold; length--)
                if (string.CompareOrdinal(Text, safe - length, stop, 0, length) == 0)
                {
                    hold = length;
                    break;
                }
        return Math.Max(safe - hold, _released);
    }

    private string Release(int upTo)
    {
        if (upTo <= _released) return "";
        var delta = Text[_released..upTo];
        _released = upTo;
        return delta;
    }
}
