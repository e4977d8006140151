using System.Text;
using System.Text.RegularExpressions;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Cuts running text into passages of <c>minChars</c>..<c>maxChars</c> characters, one line each, for the general
/// corpus: whole sentences are packed greedily, so a passage starts and ends where a sentence does unless a sentence
/// alone is too long (then it is cut between words). Passages never run from one document into the next (a speech,
/// a chapter); a remainder too short to be a passage is dropped rather than glued to unrelated text.
/// </summary>
public static partial class Passages
{
    /// <summary>Space after . ! or ? (and any closing quote or bracket) before something that can start a sentence.</summary>
    [GeneratedRegex(@"(?<=[.!?][""'\u201d\u2019)\]]*)\s+(?=[""'\u201c\u2018(\[]?[A-Z0-9])")]
    private static partial Regex SentenceEnd();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    /// <param name="paragraphs">one document's paragraphs, in order</param>
    public static IEnumerable<string> Pack(IEnumerable<string> paragraphs, int minChars = 100, int maxChars = 300)
    {
        if (minChars < 1 || maxChars < minChars) throw new ArgumentOutOfRangeException(nameof(maxChars), $"passages of {minChars}..{maxChars} characters");
        var passage = new StringBuilder();
        foreach (var paragraph in paragraphs)
            foreach (var sentence in Sentences(paragraph, maxChars))
            {
                if (passage.Length > 0 && passage.Length + 1 + sentence.Length > maxChars)
                {
                    if (passage.Length >= minChars) yield return passage.ToString();
                    passage.Clear();
                }
                if (passage.Length > 0) passage.Append(' ');
                passage.Append(sentence);
            }
        if (passage.Length >= minChars) yield return passage.ToString();
    }

    /// <summary>The paragraph's sentences, whitespace collapsed, each at most <paramref name="maxChars"/> long.</summary>
    private static IEnumerable<string> Sentences(string paragraph, int maxChars)
    {
        foreach (var sentence in SentenceEnd().Split(Spaces().Replace(paragraph, " ").Trim()))
        {
            var rest = sentence;
            while (rest.Length > maxChars)
            {
                int cut = rest.LastIndexOf(' ', maxChars);
                if (cut <= 0) cut = maxChars; // one "word" longer than a passage (a URL, a table): cut it anyway
                yield return rest[..cut];
                rest = rest[cut..].TrimStart();
            }
            if (rest.Length > 0) yield return rest;
        }
    }
}
