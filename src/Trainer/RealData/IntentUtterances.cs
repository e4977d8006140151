using DesMoe.Formats.Data;
using DesMoe.Formats.Data.Domains;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// The paper's intent domain, text to JSON scored by exact match: an assistant utterance to its intent
/// (<c>intent: hey, wake me at 7am</c> -> <c>{"intent":"set_alarm"}</c>). Every phrasing x slot value x opener of
/// <see cref="IntentGenerator"/>'s six intents, so a held-out utterance is one never trained on whose phrasing and
/// slot value training has (each phrasing meets ten or more values and four openers): the skill is to name the
/// intent of an unseen utterance, not to recall one. The answer carries no slot: with the slot value copied into the
/// JSON (<c>"time":"7am"</c>) full fine-tuning of base-v2 reached 8% in the comparison's budget, the intent right and
/// the value wrong in most misses, against 90% without it (docs/domains.md). It replaced Debian summarisation in the
/// comparison, which base-v2 gained 1.1 ROUGE-L points on.
/// </summary>
public static partial class IntentUtterances
{
    public const string PromptPrefix = "intent: ";

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
                        examples.Add(new Example(PromptPrefix + opener + template.Replace(placeholder, value), Json(intent)));
            }
        return examples;
    }

    /// <summary>Compact JSON, so exact match compares content.</summary>
    public static string Json(string intent) => $"{{\"intent\":{JsonSerializer.Serialize(intent)}}}";

    [GeneratedRegex(@"\{[a-z]+\}")]
    private static partial Regex Placeholder();
}
