using System.Text.Json;
using DesMoe.Formats.Data;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Licence identification from SPDX licence texts (npm <c>spdx-license-list</c>, one <c>{id}.json</c> with
/// <c>licenseText</c> per licence): the prompt is a run of consecutive words from a licence, the completion its SPDX id.
/// Licences with identical texts (deprecated ids, -only/-or-later pairs) collapse to the shortest id, so every
/// excerpt has one right answer. Training excerpts come from the first 70% of each text, validation ones from the
/// next 15% and test ones from the last 15%, so held-out sets ask about passages of the licences trained on that the
/// model has not seen.
/// </summary>
public static class SpdxLicenceExcerpts
{
    public const string PromptPrefix = "licence: ";

    /// <summary>Where in a licence's text excerpts come from.</summary>
    public enum Part { Train, Validation, Test }

    /// <summary>Share of a licence's words up to where a part ends.</summary>
    private static double End(Part part) => part switch { Part.Train => 0.7, Part.Validation => 0.85, _ => 1.0 };

    private static double Start(Part part) => part switch { Part.Train => 0, Part.Validation => End(Part.Train), _ => End(Part.Validation) };

    /// <summary>Word 8-grams: two licences sharing many are variants of one text (GPL-3.0 and AGPL-3.0).</summary>
    private const int ShingleWords = 8;

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

    /// <summary>
    /// The <paramref name="count"/> longest licences of at least <paramref name="minWords"/> words that are not
    /// variants of a longer one chosen before (sharing more than <paramref name="maxSharedShare"/> of their word
    /// 8-grams), so each has many passages and a passage names one licence.
    /// </summary>
    public static List<Licence> LongAndDistinct(IReadOnlyList<Licence> licences, int count, int minWords, double maxSharedShare = 0.2)
    {
        var chosen = new List<(Licence Licence, HashSet<string> Shingles)>();
        foreach (var licence in licences.Where(l => l.Words.Length >= minWords).OrderByDescending(l => l.Words.Length).ThenBy(l => l.Id, StringComparer.Ordinal))
        {
            if (chosen.Count == count) break;
            var shingles = Shingles(licence);
            if (chosen.All(c => shingles.Count(c.Shingles.Contains) <= maxSharedShare * shingles.Count)) chosen.Add((licence, shingles));
        }
        if (chosen.Count < count)
            throw new InvalidDataException($"only {chosen.Count} distinct licences of at least {minWords} words, fewer than the {count} asked for");
        return chosen.Select(c => c.Licence).OrderBy(l => l.Id, StringComparer.Ordinal).ToList();
    }

    private static HashSet<string> Shingles(Licence licence) =>
        Enumerable.Range(0, Math.Max(0, licence.Words.Length - ShingleWords + 1))
            .Select(i => string.Join(' ', licence.Words, i, ShingleWords).ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);

    /// <summary>Excerpts of <paramref name="words"/> words: <paramref name="perLicence"/> from <paramref name="part"/> of each licence, no excerpt twice.</summary>
    public static List<Example> Excerpts(IReadOnlyList<Licence> licences, Part part, int perLicence, int words, int seed)
    {
        var random = new Random(seed);
        var examples = new List<Example>();
        foreach (var licence in licences)
        {
            int start = (int)(licence.Words.Length * Start(part)), end = (int)(licence.Words.Length * End(part));
            if (end - start < words) continue; // too short to give an excerpt from this part
            var starts = Enumerable.Range(start, end - words + 1 - start).OrderBy(_ => random.Next()).Take(perLicence);
            examples.AddRange(starts.Order().Select(at => new Example(PromptPrefix + string.Join(' ', licence.Words, at, words), licence.Id)));
        }
        return examples;
    }
}
