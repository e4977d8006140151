namespace DesMoe.Formats.Data.Domains;

/// <summary>Classifying a user utterance into one of six intents; each intent has several phrasings and slot fillers.</summary>
public sealed class IntentGenerator : IExampleGenerator
{
    /// <summary>Each intent with its phrasings; a phrasing holds one placeholder, filled from <see cref="Fillers"/>.</summary>
    public static readonly (string Intent, string[] Templates)[] Intents =
    [
        ("play_music", ["play some {genre}", "put on {genre} please", "i want to hear {genre}", "can you play {genre} music"]),
        ("set_alarm", ["wake me at {time}", "set an alarm for {time}", "alarm at {time} please", "i need to get up at {time}"]),
        ("weather", ["will it rain in {city}", "weather in {city} today", "is it cold in {city}", "how hot is {city} now"]),
        ("book_table", ["table for {n} tonight", "book a table for {n}", "reserve dinner for {n}", "we are {n}, any table free"]),
        ("call_contact", ["call {person}", "phone {person} now", "ring {person} please", "get {person} on the line"]),
        ("set_timer", ["timer for {n} minutes", "count down {n} minutes", "start a {n} minute timer", "remind me in {n} minutes"]),
    ];
    private static readonly string[] Genres = ["jazz", "rock", "folk", "blues", "techno", "opera", "funk", "soul", "reggae", "punk"];
    private static readonly string[] Times = ["6am", "7am", "8am", "noon", "2pm", "5pm", "7pm", "9pm", "10pm", "midnight"];
    private static readonly string[] Cities = ["oslo", "rome", "lima", "paris", "tokyo", "cairo", "delhi", "quito", "seoul", "perth"];
    private static readonly string[] People = ["mom", "dad", "anna", "the office", "dr lee", "tom", "grandma", "sam", "the bank", "maria"];
    public static readonly string[] Openers = ["", "hey, ", "ok ", "um "];

    /// <summary>The values a placeholder (<c>{city}</c>) takes.</summary>
    public static IReadOnlyList<string> Fillers(string placeholder) => placeholder switch
    {
        "{genre}" => Genres,
        "{time}" => Times,
        "{city}" => Cities,
        "{person}" => People,
        "{n}" => Enumerable.Range(2, 11).Select(n => n.ToString()).ToArray(),
        _ => throw new ArgumentException($"no fillers for placeholder '{placeholder}'", nameof(placeholder)),
    };

    public string Domain => "intent";
    public string Description => "classify an utterance's intent";

    public Example Next(Random random)
    {
        var (intent, templates) = random.Pick(Intents);
        var text = random.Pick(templates)
            .Replace("{genre}", random.Pick(Genres))
            .Replace("{time}", random.Pick(Times))
            .Replace("{city}", random.Pick(Cities))
            .Replace("{person}", random.Pick(People))
            .Replace("{n}", random.Next(2, 13).ToString());
        return new Example($"intent: {random.Pick(Openers)}{text}", intent);
    }
}
