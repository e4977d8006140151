namespace DesMoe.Formats.Tokenization;

/// <summary>
/// Cuts text at added-token occurrences (leftmost match first, the longest at a position), as the tokenizers
/// library does before normalisation; the pieces between them go through the normaliser, pre-tokenizer and model.
/// </summary>
public sealed class AddedTokenSplitter
{
    /// <summary>Candidates by first character, longest first, so a position costs one lookup when nothing starts there.</summary>
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens) =>
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());

    /// <summary>Segments in order: either plain text (Token null) or one added token.</summary>
    public IEnumerable<(string Text, AddedToken? Token)> Split(string text)
    {
        int start = 0, position = 0;
        while (position < text.Length)
        {
            var match = MatchAt(text, position);
            if (match is null)
            {
                position++;
                continue;
            }
            if (position > start) yield return (text[start..position], null);
            yield return (match.Content, match);
            position += match.Content.Length;
            start = position;
        }
        if (start < text.Length) yield return (text[start..], null);
    }

    private AddedToken? MatchAt(string text, int position)
    {
        if (!_byFirstChar.TryGetValue(text[position], out var candidates)) return null;
        foreach (var token in candidates)
            if (string.CompareOrdinal(text, position, token.Content, 0, token.Content.Length) == 0) return token;
        return null;
    }
}
