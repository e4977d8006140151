using DesMoe.Formats.Data;
using DesMoe.Formats.Data.Domains;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// The paper's intent domain, text to JSON scored by exact match: an assistant utterance to its intent and slot
/// (<c>intent: hey, wake me at 7am</c> -> <c>{"intent":"set_alarm","time":"7am"}</c>). Every phrasing x filler x
/// opener of <see cref="IntentGenerator"/>'s six intents, so a held-out utterance is one never trained on whose
/// phrasing and slot value training has (each phrasing meets over ten fillers and four openers): the skill is to
/// name the intent from the phrasing and copy the slot, not to recall. It replaced Debian summarisation in the
/// comparison, which a 4M-parameter model did not learn in the comparison's budget (docs/domains.md).
/// </summary>
public static partial class IntentUtterances
{
    public const string PromptPrefix = "intent: ";

    /// <summary>The JSON key each placeholder's value goes under.</summary>
    private static string SlotName(string intent, string placeholder) => (intent, placeholder) switch
    {
        ("book_table", "{n}") => "people",
        ("set_timer", "{n}") => "minutes",
        (_, "{genre}") => "genre",
        (_, "{time}") => "time",
        (_, "{city}") => "city",
        (_, "{person}") => "contact",
        _ => throw new ArgumentException($"intent '{intent}' has no slot for placeholder '{placeholder}'"),
    };

    /// <summary>Every utterance, in a fixed order; prompts are unique.</summary>
    public static IReadOnlyList<Example> All()
    {
        var examples = new List<Example>();
        foreach (var (intent, templates) in IntentGenerator.Intents)
            foreach (var template in templates)
            {
                var placeholder = Placeholder().Match(template).Value;
                foreach (var value in IntentGenerator.Fillers(placeholder))
                    foreach (var opener in IntentGenerator.Openers)
                        examples.Add(new Example(PromptPrefix + opener + template.Replace(placeholder, value), Json(intent, SlotName(intent, placeholder), value)));
            }
        return examples;
    }

    /// <summary>Compact JSON, keys in a fixed order, so exact match compares content.</summary>
    public static string Json(string intent, string slot, string value) =>
        $"{{\"intent\":{JsonSerializer.Serialize(intent)},{JsonSerializer.Serialize(slot)}:{JsonSerializer.Serialize(value)}}}";

    [GeneratedRegex(@"\{[a-z]+\}")]
    private static partial Regex Placeholder();
}
