namespace DesMoe.Formats.Data.Domains;

/// <summary>
/// Lexicon-and-grammar translation from the made-up language Veltish into English. Veltish puts the verb first,
/// the adjective after the noun and an optional adverb last ("miro kat sel ulo"); English is "the red cat sleeps quietly".
/// </summary>
public sealed class TranslationGenerator : IExampleGenerator
{
    private static readonly (string Veltish, string English)[] Nouns =
        [("kat", "cat"), ("dov", "dog"), ("pel", "bird"), ("mun", "horse"), ("tor", "child"), ("vek", "farmer"), ("sil", "fish"), ("bro", "king")];
    private static readonly (string Veltish, string English)[] Adjectives =
        [("sel", "red"), ("ona", "old"), ("kir", "small"), ("dum", "happy"), ("lav", "green"), ("ter", "tired")];
    private static readonly (string Veltish, string English)[] Verbs =
        [("miro", "sleeps"), ("tasa", "runs"), ("pako", "sings"), ("velu", "eats"), ("romi", "jumps"), ("sura", "waits")];
    private static readonly (string Veltish, string English)[] Adverbs =
        [("ulo", "quietly"), ("fen", "fast"), ("rak", "again"), ("mos", "today")];

    public string Domain => "translation";
    public string Description => "translate Veltish (verb noun adjective [adverb]) into English";

    public Example Next(Random random)
    {
        var noun = random.Pick(Nouns);
        var adjective = random.Pick(Adjectives);
        var verb = random.Pick(Verbs);
        var sentence = $"veltish: {verb.Veltish} {noun.Veltish} {adjective.Veltish}";
        var english = $"the {adjective.English} {noun.English} {verb.English}";
        if (random.Next(5) == 0) return new Example(sentence, english);
        var adverb = random.Pick(Adverbs);
        return new Example($"{sentence} {adverb.Veltish}", $"{english} {adverb.English}");
    }
}
