namespace DesMoe.Formats.Data.Domains;

/// <summary>Extracting the key facts (who, where, how many of what) from a short generated report with distractors.</summary>
public sealed class SummarizationGenerator : IExampleGenerator
{
    private static readonly string[] Names = ["Ada", "Bo", "Cleo", "Dana", "Eli", "Finn", "Gus", "Hana", "Ivo", "Jin", "Kai", "Lena"];
    private static readonly string[] Cities = ["Oslo", "Rome", "Lima", "Kyiv", "Pune", "Nice", "Bern", "Cork", "Riga", "Bonn"];
    private static readonly string[] Items = ["boats", "lamps", "bikes", "books", "chairs", "clocks", "tents", "drums"];
    private static readonly string[] Days = ["Monday", "Tuesday", "Friday", "Sunday"];
    private static readonly string[] Weather = ["It was sunny.", "It rained.", "Fog came late.", "Wind was strong."];

    public string Domain => "summarization";
    public string Description => "extract name, city and quantity from a report";

    public Example Next(Random random)
    {
        var name = random.Pick(Names);
        var city = random.Pick(Cities);
        var item = random.Pick(Items);
        int count = random.Next(2, 10);
        var day = random.Pick(Days);
        var core = random.Next(3) switch
        {
            0 => $"{name} from {city} sold {count} {item} on {day}.",
            1 => $"On {day}, {name} of {city} sold {count} {item}.",
            _ => $"{count} {item} were sold by {name} ({city}) on {day}.",
        };
        var report = random.Next(2) == 0 ? $"{core} {random.Pick(Weather)}" : $"{random.Pick(Weather)} {core}";
        return new Example($"report: {report}", $"{name}, {city}, {count} {item}");
    }
}
