using System.Text.Json;
using DesMoe.Formats.Data;
using DesMoe.Trainer.RealData;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Data;

/// <summary>
/// The general-English corpus and the reverse-dictionary probe on snippets in each source's format (stdlib's text
/// datasets, WordNet's data files, GCIDE); the sources themselves are fetched by <c>desmoe data fetch</c>.
/// </summary>
public class GeneralCorpusTests
{
    [Fact]
    public void Passages_pack_whole_sentences_within_the_bounds_and_never_cross_documents()
    {
        var sentence = "The quick brown fox jumps over the lazy dog again and again.";                     // 60 characters
        string[] paragraphs = [string.Join(' ', Enumerable.Repeat(sentence, 7)), "Short tail."];

        var passages = Passages.Pack(paragraphs, minChars: 100, maxChars: 200).ToList();

        // 7 sentences of 60: three a passage (182 chars), then one left with "Short tail." (72 chars): too short, dropped.
        Assert.Equal([string.Join(' ', Enumerable.Repeat(sentence, 3)), string.Join(' ', Enumerable.Repeat(sentence, 3))], passages);
        Assert.Empty(Passages.Pack(["Too short."], 100, 200));
    }

    [Fact]
    public void Passages_cut_an_over_long_sentence_between_words()
    {
        var words = string.Join(' ', Enumerable.Range(0, 98).Select(i => $"word{i:D2}"));    // 685 characters, no sentence end: seven cuts of 14 words

        var passages = Passages.Pack([words], minChars: 50, maxChars: 100).ToList();

        Assert.All(passages, p => Assert.InRange(p.Length, 50, 100));
        Assert.Equal(words, string.Join(' ', passages));
    }

    [Fact]
    public void Moby_dick_reads_the_parts_file_list_names_without_headings_and_never_the_whole_book_copy()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("file_list.json"), JsonSerializer.Serialize(new[] { "contents.txt", "chapter_1.txt", "epilogue.txt" }));
        File.WriteAllText(dir.File("contents.txt"), "CONTENTS\n\nCHAPTER 1. Loomings.\n");
        File.WriteAllText(dir.File("chapter_1.txt"), "CHAPTER 1. Loomings.\n\nCall me Ishmael.\nSome years ago.\n\n\nIt is a way I have.\n");
        File.WriteAllText(dir.File("epilogue.txt"), "Epilogue \"AND I ONLY AM ESCAPED\" Job.\n\nThe drama's done.");
        File.WriteAllText(dir.File("data.txt"), "CHAPTER 1. Loomings.\n\nCall me Ishmael.");

        var parts = StdlibTexts.MobyDickParts(dir.Path).ToList();

        Assert.Equal(2, parts.Count);
        Assert.Equal(["Call me Ishmael.\nSome years ago.", "It is a way I have."], parts[0]);
        Assert.Equal(["The drama's done."], parts[1]);
    }

    [Fact]
    public void Sotu_reads_one_address_per_year_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("1790_george_washington_n.txt"), "Fellow-Citizens of the Senate and House of Representatives: I embrace with great satisfaction the opportunity.");
        File.WriteAllText(dir.File("1790_george_washington_n.json"), "{\"text\": \"the same address again\"}");
        File.WriteAllText(dir.File("README.txt"), "not an address");

        var addresses = StdlibTexts.SotuAddresses(dir.Path).ToList();

        Assert.Equal([["Fellow-Citizens of the Senate and House of Representatives: I embrace with great satisfaction the opportunity."]], addresses);
        Directory.CreateDirectory(dir.File("empty"));
        Assert.Throws<InvalidDataException>(() => StdlibTexts.SotuAddresses(dir.File("empty")).ToList());
    }

    /// <summary>Lines in data.noun/data.adj's format: licence header, then synsets with hexadecimal word counts.</summary>
    private static readonly string[] WordNetLines =
    [
        "  1 This software and database is being provided to you, the LICENSEE, by  ",
        "  2 Princeton University under the following license.  ",
        "00002452 03 n 01 thing 0 009 @ 00001930 n 0000 ~ 04354303 n 0000 | a separate and self-contained entity  ",
        "00915604 00 s 01 lumpy 0 003 & 00914441 a 0000 + 09330206 n 0102 | having lumps; not smooth and even in texture; \"lumpy gravy\"  ",
        "00915402 00 s 03 jagged 0 jaggy 0 scraggy(a) 0 003 & 00914441 a 0000 | having a sharply uneven surface or outline; \"the jagged outline\"; \"scraggy cliffs\"  ",
        "01234567 03 n 01 dog 0 000 | a dog-like animal  ",                                   // the definition gives the answer away
        "02345678 03 n 01 Einstein 0 000 | physicist who proposed relativity  ",               // a proper noun
        "03456789 03 n 01 pooch 0 000 | a domestic canine  ",
        "04567890 03 n 01 mutt 0 000 | a domestic canine  ",                                  // a second word for one definition: dropped
        "05678901 03 n 01 ice_cream 0 000 | frozen dessert  ",                                // a phrase
        "0000000a 03 n 0a a 0 b 0 c 0 d 0 e 0 f 0 g 0 h 0 i 0 j 0 000 | ten words, counted in hexadecimal  ",
    ];

    [Fact]
    public void WordNet_lines_give_lemmas_definition_and_examples()
    {
        var synsets = WordNetGlosses.Parse(WordNetLines).ToList();

        Assert.Equal(9, synsets.Count);
        var jagged = synsets[2];
        Assert.Equal(["jagged", "jaggy", "scraggy"], jagged.Lemmas);
        Assert.Equal("having a sharply uneven surface or outline", jagged.Definition);
        Assert.Equal(["the jagged outline", "scraggy cliffs"], jagged.Examples);
        Assert.Equal("ice cream", synsets[7].Lemmas.Single());
        Assert.Equal(10, synsets[8].Lemmas.Count);
        Assert.Throws<InvalidDataException>(() => WordNetGlosses.Parse(["00001740 03 n 05 entity 0 | too few words for the count"]).ToList());
    }

    [Fact]
    public void WordNet_entries_leave_out_synsets_with_a_held_out_word()
    {
        var entries = WordNetGlosses.Entries(WordNetGlosses.Parse(WordNetLines.Take(5)), new HashSet<string> { "jaggy" }).ToList();

        Assert.Equal(["thing (n.): a separate and self-contained entity.", "lumpy (adj.): having lumps; not smooth and even in texture; \"lumpy gravy\"."], entries);
    }

    [Fact]
    public void Gcide_entries_are_cleaned_and_leave_out_medical_wordnet_and_held_out_entries()
    {
        const string Dictionary = """
            00-database-url
               ftp://ftp.gnu.org/gnu/gcide

            Affear \Af*fear"\, v. t. [OE. aferen, AS. [=a]f?ran. See
               {Afeard}.]
               To frighten. [Obs.] --Spenser.
               [1913 Webster]

            Affect \Af*fect"\, v. t.
               1. To act upon; to produce an ?way effect (r?"gal) upon.-- {Af*fect"er}, n.
               [1913 Webster]

                     The climate affected their health and spirits.
                                                         --Macaulay.
               [1913 Webster]

            Tussive \Tus"sive\, a. (Med.)
               Pertaining to a cough. -- {Tus"sive*ly}, adv.
               [1913 Webster]

            Abattoir \A`bat`toir"\, n.
               a building where animals are butchered
               [WordNet 1.5]

            Lumpy \Lump"y\, a.
               Full of lumps; as, lumpy gravy.
               [1913 Webster]
            """;

        var entries = GcideDefinitions.Entries(Dictionary.Split('\n'), new HashSet<string> { "lumpy" }).ToList();

        Assert.Equal(
        [
            "Affear, v. t. To frighten.",
            "Affect, v. t. 1. To act upon; to produce an effect upon. The climate affected their health and spirits.",
        ], entries);
    }

    [Fact]
    public void General_split_holds_out_a_seeded_set_and_caps_training_bytes()
    {
        var passages = Enumerable.Range(0, 5000).Select(i => $"passage number {i:D4} of the corpus").ToList();   // 33 bytes + newline each
        var options = new GeneralCorpus.Options { HeldOut = 1000, MaxTrainBytes = 34 * 2000 };

        var (train, eval) = GeneralCorpus.Split(passages, options);

        Assert.Equal(1000, eval.Count);
        Assert.Equal(2000, train.Count);
        Assert.Empty(train.Intersect(eval));
        Assert.Equal(eval, GeneralCorpus.Split(passages, options).Eval);
        Assert.NotEqual(eval, GeneralCorpus.Split(passages, options with { Seed = 2 }).Eval);
    }
}
