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

    private static WordNetGlosses.Synset Synset(string lemma, string definition) => new("n", [lemma], definition, []);

    [Fact]
    public void Medicine_tests_terms_never_trained_on_whose_root_training_teaches()
    {
        var splits = MedicalWordFormation.Split(heldOut: 50, seed: 1);

        Assert.Equal((50, 50), (splits.Validation.Count, splits.Test.Count));
        AssertDisjoint(splits);
        var glossary = MedicalWordFormation.Glossary().ToList();
        Assert.Equal(MedicalWordFormation.Roots.Count, glossary.Count);
        Assert.All(glossary, g => Assert.Contains(g, splits.Train)); // every root is also taught alone
        Assert.Contains(new Example("organ: nephr-", "kidney"), glossary);
        var terms = splits.Train.Except(glossary).ToList();
        Assert.Equal(MedicalWordFormation.Roots.Count * MedicalWordFormation.Suffixes.Count, terms.Count + 100);
        string Term(Example e) => e.Prompt[MedicalWordFormation.PromptPrefix.Length..];
        Assert.All(splits.Test.Concat(splits.Validation), e =>
        {
            // the root, with this organ, and the suffix are both in terms training has
            Assert.Contains(terms, t => t.Completion == e.Completion && Term(e).StartsWith(MedicalWordFormation.Roots.Single(r => r.Meaning == e.Completion).Form));
            Assert.Contains(terms, t => MedicalWordFormation.Suffixes.Any(s => Term(t).EndsWith(s.Form) && Term(e).EndsWith(s.Form)));
        });
    }

    [Fact]
    public void Intent_tests_utterances_never_trained_on_whose_words_training_has()
    {
        var all = IntentUtterances.All();
        Assert.Equal(all.Count, all.Select(e => e.Prompt).Distinct().Count());
        Assert.Contains(new Example("intent: hey, wake me at 7am", "{\"intent\":\"set_alarm\"}"), all);
        Assert.Contains(new Example("intent: table for 12 tonight", "{\"intent\":\"book_table\"}"), all);
        Assert.Equal(6, all.Select(e => e.Completion).Distinct().Count());
        Assert.All(all, e => System.Text.Json.JsonDocument.Parse(e.Completion).Dispose()); // every answer is JSON

        var splits = HeldOutSplit.Random(all, heldOut: 200, maxTrain: 20_000, seed: 1);
        AssertDisjoint(splits);
        var trainedAnswers = splits.Train.Select(e => e.Completion).ToHashSet();
        var trainedWords = splits.Train.SelectMany(e => e.Prompt.Split(' ')).ToHashSet();
        Assert.All(splits.Test.Concat(splits.Validation), e =>
        {
            Assert.Contains(e.Completion, trainedAnswers);
            Assert.All(e.Prompt.Split(' '), w => Assert.Contains(w, trainedWords));
        });
    }

    [Theory]
    [InlineData("nephr", "kidney", "itis", "inflammation", "nephritis")]
    [InlineData("hepat", "liver", "megaly", "enlargement", "hepatomegaly")]
    [InlineData("gastr", "stomach", "ectomy", "removal", "gastrectomy")]
    public void Medical_terms_join_root_and_suffix_with_o_before_a_consonant_and_ask_for_the_organ(string root, string organ, string suffix, string meaning, string term)
    {
        var example = MedicalWordFormation.Example(new(root, organ), new(suffix, meaning));

        Assert.Equal(new Example("organ: " + term, organ), example);
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
    [InlineData("expand(x*(x - 3))", "x**2 - 3*x")]
    [InlineData("factor(y**2 + 3*y)", "y*(y + 3)")]
    [InlineData("diff(x**3 + 2, x)", "3*x**2")]
    [InlineData("diff(z**2, z)", "2*z")]
    [InlineData("integrate(t**2 + 3, t)", "t**3/3 + 3*t")]
    [InlineData("integrate(y**3, y)", "y**4/4")]
    [InlineData("integrate(z**2 + 1, z)", "z**3/3 + z")]
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
        Assert.All(Enum.GetValues<SympyExpressions.Kind>(), kind => Assert.True(examples.Count(e => SympyExpressions.KindOf(e) == kind) >= 50, $"{kind}"));
        Assert.Throws<ArgumentException>(() => SympyExpressions.KindOf(new Example("sympy: 1 + 2", "3")));
        Assert.Equal("-x**2 + 3", SympyExpressions.Polynomial([3, 0, -1]));
        Assert.Equal("3*x**4/4", SympyExpressions.Monomial(6, 8, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => SympyExpressions.Monomial(-1, 2, 1));
    }

    [Fact]
    public void Derived_words_keep_a_word_formed_from_one_in_its_definition()
    {
        WordNetGlosses.Synset[] synsets =
        [
            Synset("thoughtfully", "in a thoughtful manner"),
            Synset("kindness", "the quality of being kind"),
            Synset("nucleus", "the central part of a thing"),            // no word of the definition it is formed from
            Synset("cat", "a small cat-like animal"),                   // too short to have a stem
            Synset("darkness", "the state of being dark"),
            Synset("darkening", "the state of being dark"),             // a second word for one definition: dropped
            new("n", ["quick", "fast"], "in a quickish way", []),       // two words
        ];

        var examples = WordNetGlosses.DerivedWords(synsets);

        Assert.Equal(
        [
            new Example("word for: in a thoughtful manner", "thoughtfully"),
            new Example("word for: the quality of being kind", "kindness"),
        ], examples);
    }
}
