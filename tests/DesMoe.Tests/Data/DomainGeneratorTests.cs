using System.Data;
using System.Text.RegularExpressions;
using DesMoe.Formats.Data;
using DesMoe.Formats.Data.Domains;
using Xunit;

namespace DesMoe.Tests.Data;

public class DomainGeneratorTests
{
    public static TheoryData<string> AllDomains => new(DomainCatalog.Names);

    [Theory]
    [MemberData(nameof(AllDomains))]
    public void Same_seed_gives_the_same_examples_and_other_seeds_differ(string domain)
    {
        var generator = DomainCatalog.Get(domain);
        var a = DatasetSplit.Generate(generator, 50, seed: 9);
        var b = DatasetSplit.Generate(generator, 50, seed: 9);
        var c = DatasetSplit.Generate(generator, 50, seed: 10);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, e => Assert.True(e.Prompt.Length + e.Completion.Length < 120, $"too long for the bundled model: {e}"));
    }

    [Theory]
    [MemberData(nameof(AllDomains))]
    public void Held_out_prompts_never_appear_in_the_training_set(string domain)
    {
        var split = DatasetSplit.Create(DomainCatalog.Get(domain), 2000, 200, seed: 3);
        var train = split.Train.Select(e => e.Prompt).ToHashSet();
        Assert.True(split.Eval.Count >= 100, $"only {split.Eval.Count} unseen prompts: the domain's prompt space is too small");
        Assert.DoesNotContain(split.Eval, e => train.Contains(e.Prompt));
    }

    [Fact]
    public void Math_answers_equal_an_independent_evaluation()
    {
        var table = new DataTable();
        foreach (var e in DatasetSplit.Generate(new MathGenerator(), 300, seed: 1))
            Assert.Equal(Convert.ToInt32(table.Compute(e.Prompt.TrimEnd('='), null)).ToString(), e.Completion);
    }

    [Fact]
    public void Code_answers_equal_an_independent_interpreter()
    {
        foreach (var e in DatasetSplit.Generate(new CodeGenerator(), 300, seed: 1))
        {
            var vars = new Dictionary<string, int>();
            var statements = e.Prompt.Split(';');
            foreach (var s in statements[..^1])
            {
                var m = Regex.Match(s, @"^(\w)=(\w)(?:\+(\d))?$");
                int value = int.TryParse(m.Groups[2].Value, out var c) ? c : vars[m.Groups[2].Value];
                if (m.Groups[3].Success) value += int.Parse(m.Groups[3].Value);
                vars[m.Groups[1].Value] = value;
            }
            var printed = Regex.Match(statements[^1], @"print\((\w)\)").Groups[1].Value;
            Assert.Equal(vars[printed].ToString(), e.Completion);
        }
    }

    [Fact]
    public void Law_answers_apply_the_code_and_its_modifiers()
    {
        var law = new LawGenerator();
        foreach (var e in DatasetSplit.Generate(law, 300, seed: 1))
        {
            var parts = e.Prompt["case: ".Length..].Split(", ");
            var (kind, amount) = law.Code[parts[1]];
            amount *= 1 + int.Parse(parts[2].Split(' ')[0]);
            if (parts.Contains("armed")) amount += 2;
            if (parts.Contains("minor")) amount = Math.Max(1, amount / 2);
            Assert.Equal($"{kind} {amount}", e.Completion);
        }
    }

    [Fact]
    public void Translation_reorders_verb_noun_adjective_into_english_order()
    {
        var e = new TranslationGenerator().Next(new Random(5));
        var words = e.Prompt["veltish: ".Length..].Split(' ');
        var english = e.Completion.Split(' ');
        Assert.InRange(words.Length, 3, 4);
        Assert.Equal(words.Length + 1, english.Length);
        Assert.Equal("the", english[0]);
        // the same Veltish verb always maps to the same English verb
        var verbMap = DatasetSplit.Generate(new TranslationGenerator(), 400, seed: 2)
            .GroupBy(x => x.Prompt.Split(' ')[1]).ToDictionary(g => g.Key, g => g.Select(x => x.Completion.Split(' ')[3]).Distinct().Count());
        Assert.All(verbMap.Values, distinct => Assert.Equal(1, distinct));
    }

    [Fact]
    public void Summaries_contain_only_facts_stated_in_the_report()
    {
        foreach (var e in DatasetSplit.Generate(new SummarizationGenerator(), 200, seed: 4))
        {
            var facts = e.Completion.Split(", ");
            Assert.Equal(3, facts.Length);
            Assert.All(facts, f => Assert.Contains(f, e.Prompt));
        }
    }

    [Fact]
    public void Intents_cover_six_labels()
    {
        var labels = DatasetSplit.Generate(new IntentGenerator(), 500, seed: 4).Select(e => e.Completion).Distinct().ToList();
        Assert.Equal(6, labels.Count);
    }

    [Fact]
    public void Unknown_domain_lists_the_known_ones()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => DomainCatalog.Get("poetry"));
        Assert.Contains("unknown domain 'poetry'", error.Message);
        Assert.Contains("math, code, law, translation, summarization, intent, general", error.Message);
    }
}
