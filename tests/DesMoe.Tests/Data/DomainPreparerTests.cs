using DesMoe.Formats.Data;
using DesMoe.Trainer.RealData;
using Xunit;

namespace DesMoe.Tests.Data;

/// <summary>
/// The domain preparers on small in-memory inputs: three disjoint splits, and held-out inputs built from what
/// training teaches (known words, known terms, known licences) or computed by a rule (math, derived words).
/// </summary>
public class DomainPreparerTests
{
    private static void AssertDisjoint(DomainSplits splits)
    {
        var train = splits.Train.Select(e => e.Prompt).ToHashSet();
        Assert.DoesNotContain(splits.Validation, e => train.Contains(e.Prompt));
        Assert.DoesNotContain(splits.Test, e => train.Contains(e.Prompt));
        Assert.Empty(splits.Validation.Select(e => e.Prompt).Intersect(splits.Test.Select(e => e.Prompt)));
    }

    [Fact]
    public void Random_split_gives_three_disjoint_sets_of_the_asked_size_the_same_way_each_time()
    {
        var examples = Enumerable.Range(0, 1000).Select(i => new Example($"p{i}", $"a{i}")).ToList();

        var splits = HeldOutSplit.Random(examples, heldOut: 100, maxTrain: 10_000, seed: 3);

        Assert.Equal((800, 100, 100), (splits.Train.Count, splits.Validation.Count, splits.Test.Count));
        AssertDisjoint(splits);
        Assert.Equal(splits.Test, HeldOutSplit.Random(examples, 100, 10_000, 3).Test);
        Assert.NotEqual(splits.Test, HeldOutSplit.Random(examples, 100, 10_000, 4).Test);
        Assert.Equal(250, HeldOutSplit.Random(examples, heldOut: 400, maxTrain: 10_000, seed: 3).Test.Count); // at most a quarter each
    }

    [Fact]
    public void Grouped_split_keeps_every_group_in_one_set()
    {
        var examples = Enumerable.Range(0, 3000).Select(i => new Example($"p{i}", $"family{i % 700}")).ToList();

        var splits = HeldOutSplit.Grouped(examples, e => e.Completion, heldOut: 500, maxTrain: 20_000, seed: 1);

        Assert.Equal((500, 500), (splits.Validation.Count, splits.Test.Count));
        AssertDisjoint(splits);
        var groups = new[] { splits.Train, splits.Validation, splits.Test }.Select(s => s.Select(e => e.Completion).ToHashSet()).ToList();
        Assert.Empty(groups[0].Intersect(groups[1]));
        Assert.Empty(groups[0].Intersect(groups[2]));
        Assert.Empty(groups[1].Intersect(groups[2]));
        Assert.True(splits.Train.Count >= 3000 - 1000 - 8, $"only each held-out set's last group's overshoot is dropped, yet {splits.Train.Count} train");
    }

    [Fact]
    public void Disjoint_drops_held_out_prompts_that_training_or_the_test_set_already_has()
    {
        Example E(string prompt) => new(prompt, "x");
        var splits = new DomainSplits([E("a"), E("b")], [E("b"), E("c"), E("d")], [E("a"), E("d"), E("e")]);

        var disjoint = RealDomainPreparer.Disjoint(splits);

        Assert.Equal([E("c")], disjoint.Validation);
        Assert.Equal([E("d"), E("e")], disjoint.Test);
        AssertDisjoint(disjoint);
    }

    private static readonly string[] DingLines =
    [
        "# Version :: devel",
        "Hund {m} [zool.] | Hunde {pl} | Haushund {m} :: dog; dawg | dogs | domestic dog",
        "Hund {m} :: canine",                                              // a second line of a word: its main sense came first
        "Katze {f} [zool.] | Katzen {pl} :: cat; feline [formal] | cats",
        "Haus {n} | Häuser {pl} | Reihenhaus {n} | ein Haus bauen :: house | houses | terraced house | to build a house",
        "Stichprobenentnahme {f} | Stichproben {pl} :: sampling | samples", // a compound longer than 8 letters
        "Baum fällt! :: Timber!",                                          // not a noun entry
        "rot {adj} :: red",
        "Brot {n} :: bread [cook.]",
        "Laib {m} :: bread",                                               // an English word already taken
    ];

    [Fact]
    public void Ding_lexicon_takes_each_nouns_head_entry_and_first_sense_commonest_first()
    {
        var lexicon = DingPhrases.Lexicon(DingLines, size: 4);

        Assert.Equal(
        [
            new DingPhrases.Noun("Haus", 'n', "house"),
            new DingPhrases.Noun("Hund", 'm', "dog"),
            new DingPhrases.Noun("Katze", 'f', "cat"),
            new DingPhrases.Noun("Brot", 'n', "bread"),
        ], lexicon);
        Assert.Equal(new Example("translate to English: die Katze und der Hund", "the cat and the dog"), DingPhrases.Pair(lexicon[2], lexicon[1]));
        var error = Assert.Throws<InvalidDataException>(() => DingPhrases.Lexicon(DingLines, size: 5));
        Assert.Contains("only 4 plain nouns", error.Message);
    }

    [Fact]
    public void Translation_tests_pairs_never_trained_on_made_of_words_training_teaches()
    {
        var lexicon = Enumerable.Range(0, 16).Select(i => new DingPhrases.Noun($"Wort{i}", "mfn"[i % 3], $"word{i}")).ToList();

        var splits = DingPhrases.Split(lexicon, heldOut: 50, maxTrain: 10_000, seed: 1);

        Assert.Equal((50, 50), (splits.Validation.Count, splits.Test.Count));
        AssertDisjoint(splits);
        var taught = splits.Train.SelectMany(e => e.Completion.Split(' ')).ToHashSet();
        Assert.All(splits.Test.Concat(splits.Validation), e => Assert.Subset(taught, e.Completion.Split(' ').ToHashSet()));
        Assert.All(lexicon, n => Assert.Contains(DingPhrases.Single(n), splits.Train));
        Assert.Equal(16 * 15, splits.Train.Count + 100 - 16);
    }

    private static WordNetGlosses.Synset Synset(string lemma, string definition, int lexFile) => new("n", [lemma], definition, [], lexFile);

    /// <summary>Dictionary head words are letters only: term0 is terma, term12 termbc.</summary>
    private static string Term(int i) => "term" + new string(i.ToString().Select(c => (char)('a' + c - '0')).ToArray());

    [Fact]
    public void Medicine_asks_for_trained_terms_by_their_wordnet_definition()
    {
        var gcide = Enumerable.Range(0, 40).Select(i => new Example($"medical term: GCIDE's definition {i}.", Term(i))).ToList();
        var synsets = Enumerable.Range(0, 40).Select(i => Synset(Term(i), $"wordnet's definition {i}", lexFile: 26)).Concat(
        [
            Synset(Term(1), "a genus of birds", lexFile: 5),                     // an animal sense, not a medical one
            Synset(Term(2), $"the {Term(2)} condition", lexFile: 26),            // gives the answer away
            new WordNetGlosses.Synset("n", [Term(3), Term(4)], "two terms at once", [], 26), // no single answer
            Synset("unrelated", "not a medical term of ours", lexFile: 26),
        ]).ToList();

        var splits = MedicalSecondDefinitions.Split(gcide, synsets, terms: 30, heldOut: 10, seed: 1);

        Assert.Equal((10, 10), (splits.Validation.Count, splits.Test.Count));
        AssertDisjoint(splits);
        var trainedTerms = splits.Train.Where(e => e.Prompt.Contains("GCIDE")).Select(e => e.Completion).ToHashSet();
        Assert.Equal(30, trainedTerms.Count);
        Assert.All(splits.Test.Concat(splits.Validation), e =>
        {
            Assert.StartsWith("medical term: wordnet's definition ", e.Prompt);
            Assert.Contains(e.Completion, trainedTerms);
        });
        Assert.Equal(30 + 10, splits.Train.Count); // the WordNet definitions left over after the held-out sets are trained on
    }

    [Fact]
    public void Licence_choice_takes_the_longest_texts_and_skips_a_variant_of_one_already_chosen()
    {
        string[] Words(string stem, int count) => Enumerable.Range(0, count).Select(i => $"{stem}{i}").ToArray();
        var gpl = new SpdxLicenceExcerpts.Licence("GPL", Words("g", 3000));
        var agpl = new SpdxLicenceExcerpts.Licence("AGPL", [.. Words("g", 3000), .. Words("network", 200)]);
        var mit = new SpdxLicenceExcerpts.Licence("MIT", Words("m", 2000));
        var tiny = new SpdxLicenceExcerpts.Licence("Tiny", Words("t", 100));

        var chosen = SpdxLicenceExcerpts.LongAndDistinct([gpl, agpl, mit, tiny], count: 2, minWords: 1000);

        Assert.Equal(["AGPL", "MIT"], chosen.Select(l => l.Id));
        var error = Assert.Throws<InvalidDataException>(() => SpdxLicenceExcerpts.LongAndDistinct([gpl, agpl, mit, tiny], count: 3, minWords: 1000));
        Assert.Contains("only 2 distinct licences of at least 1000 words", error.Message);
    }

    [Theory]
    [InlineData("expand(x*(x - 7))", "x**2 - 7*x")]
    [InlineData("factor(y**2 + 12*y)", "y*(y + 12)")]
    [InlineData("diff(x**3 + 5, x)", "3*x**2")]
    [InlineData("diff(z**2, z)", "2*z")]
    [InlineData("integrate(x**2 + 5, x)", "x**3/3 + 5*x")]
    [InlineData("integrate(y**3, y)", "y**4/4")]
    [InlineData("integrate(z**2 + 1, z)", "z**3/3 + z")]
    [InlineData("7 - 9", "-2")]
    [InlineData("9 + 8", "17")]
    public void Math_results_are_what_sympy_prints(string expression, string result)
    {
        var examples = SympyExpressions.All();

        Assert.Contains(new Example(SympyExpressions.PromptPrefix + expression, result), examples);
    }

    [Fact]
    public void Math_has_every_kind_and_unique_prompts()
    {
        var examples = SympyExpressions.All();

        Assert.Equal(examples.Count, examples.Select(e => e.Prompt).Distinct().Count());
        Assert.All(Enum.GetValues<SympyExpressions.Kind>(), kind => Assert.True(examples.Count(e => SympyExpressions.KindOf(e) == kind) >= 100, $"{kind}"));
        Assert.Equal("-x**2 + 3", SympyExpressions.Polynomial([3, 0, -1]));
        Assert.Equal("3*x**4/4", SympyExpressions.Monomial(6, 8, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => SympyExpressions.Monomial(-1, 2, 1));
    }

    [Fact]
    public void Derived_words_keep_a_word_formed_from_one_in_its_definition()
    {
        WordNetGlosses.Synset[] synsets =
        [
            Synset("thoughtfully", "in a thoughtful manner", 2),
            Synset("kindness", "the quality of being kind", 7),
            Synset("nucleus", "the central part of a thing", 6),            // no word of the definition it is formed from
            Synset("cat", "a small cat-like animal", 5),                   // too short to have a stem
            Synset("darkness", "the state of being dark", 7),
            Synset("darkening", "the state of being dark", 7),             // a second word for one definition: dropped
            new("n", ["quick", "fast"], "in a quickish way", [], 2),       // two words
        ];

        var examples = WordNetGlosses.DerivedWords(synsets);

        Assert.Equal(
        [
            new Example("word for: in a thoughtful manner", "thoughtfully"),
            new Example("word for: the quality of being kind", "kindness"),
        ], examples);
    }
}
