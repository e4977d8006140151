namespace DesMoe.Formats.Tokenization;

/// <summary>Ids of the control tokens every tokenizer provides.</summary>
/// <param name="Begin">starts every sequence</param>
/// <param name="End">ends a completion; generation stops on it</param>
/// <param name="Pad">fills batches; never attended to</param>
/// <param name="Separator">between the prompt (instruction) and the completion</param>
public sealed record SpecialTokens(int Begin, int End, int Pad, int Separator)
{
    public const string BeginText = "<|begin|>";
    public const string EndText = "<|end|>";
    public const string PadText = "<|pad|>";
    public const string SeparatorText = "<|sep|>";

    /// <summary>Four consecutive ids starting at <paramref name="first"/>, in the order begin, end, pad, separator.</summary>
    public static SpecialTokens Consecutive(int first) => new(first, first + 1, first + 2, first + 3);

    public bool Contains(int id) => id == Begin || id == End || id == Pad || id == Separator;

    public IReadOnlyDictionary<string, int> ByText() => new Dictionary<string, int>
    {
        [BeginText] = Begin, [EndText] = End, [PadText] = Pad, [SeparatorText] = Separator,
    };
}
