namespace DesMoe.Formats.Tokenization;

/// <summary>The one sequence layout used in training, evaluation, export and serving: begin, prompt, separator, completion, end.</summary>
public static class PromptFormat
{
    /// <summary>Tokens the model sees before it starts generating a completion.</summary>
    public static List<int> EncodePrompt(ITextTokenizer tokenizer, string prompt)
    {
        var ids = new List<int>(prompt.Length + 2) { tokenizer.Special.Begin };
        ids.AddRange(tokenizer.Encode(prompt));
        ids.Add(tokenizer.Special.Separator);
        return ids;
    }

    /// <summary>Whether <paramref name="example"/>'s full sequence (control tokens included) fits <paramref name="maxPositions"/>.</summary>
    public static bool Fits(ITextTokenizer tokenizer, Data.Example example, int maxPositions) =>
        EncodeExample(tokenizer, example.Prompt, example.Completion).Ids.Count <= maxPositions;

    /// <summary>A full training sequence and the index of its first completion token.</summary>
    public static (List<int> Ids, int CompletionStart) EncodeExample(ITextTokenizer tokenizer, string prompt, string completion)
    {
        var ids = EncodePrompt(tokenizer, prompt);
        int start = ids.Count;
        ids.AddRange(tokenizer.Encode(completion));
        ids.Add(tokenizer.Special.End);
        return (ids, start);
    }
}
