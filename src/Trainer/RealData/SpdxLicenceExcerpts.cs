using System.Text.Json;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Licence identification from SPDX licence texts (npm <c>spdx-license-list</c>, one <c>{id}.json</c> with
/// <c>licenseText</c> per licence): the prompt is a run of consecutive words from a licence, the completion its SPDX id.
/// Licences with identical texts (deprecated ids, -only/-or-later pairs) collapse to the shortest id, so every
/// excerpt has one right answer. Training excerpts come from the first 70% of each text and held-out ones from the
/// rest, so the held-out set asks about passages the model has not seen.
/// </summary>
public static class SpdxLicenceExcerpts
{
    public const string PromptPrefix = "licence: ";
    private const double TrainShare = 0.7;

    public sealed record Licence(string Id, string[] Words);

    /// <summary>The licences in <paramref name="folder"/>, identical texts merged.</summary>
    public static IReadOnlyList<Licence> Read(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"SPDX licence folder not found: {folder}");
        var byText = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            if (!document.RootElement.TryGetProperty("licenseText", out var text) || text.GetString() is not { Length: > 0 } body)
                throw new InvalidDataException($"{file}: no licenseText");
            var id = Path.GetFileNameWithoutExtension(file);
            var normalised = string.Join(' ', body.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            if (!byText.TryGetValue(normalised, out var kept) || id.Length < kept.Length || (id.Length == kept.Length && string.CompareOrdinal(id, kept) < 0))
                byText[normalised] = id;
        }
        return byText.Select(p => new Licence(p.Value, p.Key.Split(' '))).OrderBy(l => l.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Excerpts of <paramref name="words"/> words: <paramref name="perLicence"/> from each licence's training or held-out part.</summary>
    public static List<Example> Excerpts(IReadOnlyList<Licence> licences, bool heldOut, int perLicence, int words, int seed)
    {
        var random = new Random(seed);
        var examples = new List<Example>();
        foreach (var licence in licences)
        {
            int split = (int)(licence.Words.Length * TrainShare);
            int start = heldOut ? split : 0, end = heldOut ? licence.Words.Length : split;
            if (end - start < words) continue; // too short to give an excerpt from this part
            for (int i = 0; i < perLicence; i++)
            {
                int at = random.Next(start, end - words + 1);
                examples.Add(new Example(PromptPrefix + string.Join(' ', licence.Words, at, words), licence.Id));
            }
        }
        return examples;
    }
}
