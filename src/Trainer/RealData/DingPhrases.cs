using System.Text.RegularExpressions;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// German -> English translation of short noun phrases built from a small Ding (<c>trans-de-en</c>) lexicon: a
/// line's head entry <c>Hund {m} [zool.] | Hunde {pl} | ... :: dog; dawg | dogs | ...</c> gives one noun, its gender
/// and its first English sense. Training has every noun on its own (<c>der Hund</c> -> <c>the dog</c>) and some of
/// the pairs (<c>der Hund und die Katze</c> -> <c>the dog and the cat</c>); validation and test are pairs training
/// never shows, so they test composing known words rather than recalling words no data contains.
/// </summary>
public static partial class DingPhrases
{
    public const string PromptPrefix = "translate to English: ";

    public sealed record Noun(string German, char Gender, string English)
    {
        public string WithArticle => $"{Gender switch { 'm' => "der", 'f' => "die", _ => "das" }} {German}";
    }

    /// <summary>A plain noun of 3 to 8 letters: the everyday words, not the long compounds Ding also lists at length.</summary>
    [GeneratedRegex(@"^(?<german>[A-ZÄÖÜ][a-zäöüß]{2,7}) \{(?<gender>[mfn])\}(?: \[[^\]]*\])*$")]
    private static partial Regex GermanNoun();

    [GeneratedRegex(@"^(?<english>[a-z]{3,})(?: \[[^\]]*\]| \([^)]*\))*$")]
    private static partial Regex EnglishNoun();

    /// <summary>
    /// The <paramref name="size"/> nouns whose lines have the most sub-entries (a word with many compounds and
    /// idioms is a common one), one per German and per English word, in that order.
    /// </summary>
    public static List<Noun> Lexicon(IEnumerable<string> lines, int size)
    {
        var candidates = new List<(Noun Noun, int SubEntries)>();
        foreach (var line in lines)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var sides = line.Split(" :: ");
            if (sides.Length != 2) continue;
            var german = GermanNoun().Match(sides[0].Split(" | ")[0].Split("; ")[0].Trim());
            var english = EnglishNoun().Match(sides[1].Split(" | ")[0].Split("; ")[0].Trim());
            if (german.Success && english.Success)
                candidates.Add((new Noun(german.Groups["german"].Value, german.Groups["gender"].Value[0], english.Groups["english"].Value), sides[0].Split(" | ").Length));
        }
        var germanSeen = new HashSet<string>(StringComparer.Ordinal);
        var englishSeen = new HashSet<string>(StringComparer.Ordinal);
        // The first line of a word is its main sense (Ding lists Hund {m} [zool.] before Hund {m} :: canine).
        var firstLines = candidates.Where(c => germanSeen.Add(c.Noun.German)).ToList();
        var lexicon = firstLines.OrderByDescending(c => c.SubEntries).ThenBy(c => c.Noun.German, StringComparer.Ordinal)
            .Where(c => englishSeen.Add(c.Noun.English)).Take(size).Select(c => c.Noun).ToList();
        if (lexicon.Count < size) throw new InvalidDataException($"the Ding dictionary has only {lexicon.Count} plain nouns, fewer than the {size} asked for");
        return lexicon;
    }

    public static Example Single(Noun noun) => new(PromptPrefix + noun.WithArticle, $"the {noun.English}");

    public static Example Pair(Noun first, Noun second) =>
        new($"{PromptPrefix}{first.WithArticle} und {second.WithArticle}", $"the {first.English} and the {second.English}");

    /// <summary>Every noun alone in training; ordered pairs of two different nouns split so validation and test pairs are never trained on.</summary>
    public static DomainSplits Split(IReadOnlyList<Noun> lexicon, int heldOut, int maxTrain, int seed)
    {
        var pairs = lexicon.SelectMany(a => lexicon.Where(b => b != a).Select(b => Pair(a, b))).ToList();
        var split = HeldOutSplit.Random(pairs, heldOut, maxTrain, seed);
        var random = new Random(seed);
        var train = split.Train.Concat(lexicon.Select(Single)).OrderBy(_ => random.Next()).ToList();
        return split with { Train = train };
    }
}
