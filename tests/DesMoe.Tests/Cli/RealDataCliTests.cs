using System.IO.Compression;
using System.Text;
using System.Text.Json;
using DesMoe.Formats.Data;
using DesMoe.Trainer.RealData;
using DesMoe.Tests.Architectures;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Cli;

/// <summary>
/// <c>desmoe data prepare</c> on a fetch folder laid out as <c>data fetch</c> leaves it (synthetic files in the real
/// formats: the tests use no network), then <c>adapt --data name=train,eval</c> on its output.
/// </summary>
public class RealDataCliTests
{
    [Fact]
    public async Task Prepare_writes_each_domain_as_train_validation_and_test_and_adapt_takes_the_train_validation_pair()
    {
        using var dir = new TempDirectory();
        var fetched = dir.File("fetched");
        WriteFakeSources(fetched);

        var prepare = await CliRunner.RunAsync("http://127.0.0.1:1", null, "data", "prepare", "--dir", fetched, "--out", dir.File("jsonl"), "--held-out", "50");

        Assert.True(prepare.ExitCode == 0, prepare.Error);
        foreach (var domain in RealDomainPreparer.Domains)
        {
            var train = Jsonl.Read(dir.File($"jsonl/{domain}.train.jsonl")).Select(e => e.Prompt).ToList();
            var validation = Jsonl.Read(dir.File($"jsonl/{domain}.validation.jsonl")).Select(e => e.Prompt).ToList();
            var test = Jsonl.Read(dir.File($"jsonl/{domain}.test.jsonl")).Select(e => e.Prompt).ToList();
            Assert.True((validation.Count, test.Count) == (50, 50), $"{domain}: {validation.Count} validation, {test.Count} test");
            Assert.NotEmpty(train);
            Assert.Empty(train.Intersect(validation));
            Assert.Empty(train.Intersect(test));
            Assert.Empty(validation.Intersect(test));
            foreach (var split in new[] { "train", "validation", "test" }) Assert.Contains($"{domain}.{split}.jsonl ", prepare.Output);
        }
        var heldOutWords = new[] { "validation", "test" }.SelectMany(s => Jsonl.Read(dir.File($"jsonl/reverse-dictionary.{s}.jsonl"))).Select(e => e.Completion).ToHashSet();
        Assert.DoesNotContain(Jsonl.Read(dir.File("jsonl/reverse-dictionary.train.jsonl")), e => heldOutWords.Contains(e.Completion));
        foreach (var source in new[] { "sotu", "moby-dick", "wordnet", "gcide" })
        {
            var train = File.ReadAllLines(dir.File($"jsonl/general/{source}.train.txt"));
            var eval = File.ReadAllLines(dir.File($"jsonl/general/{source}.eval.txt"));
            Assert.True(eval.Length >= GeneralCorpus.MinimumHeldOut && train.Length >= eval.Length, $"{source}: {train.Length} train, {eval.Length} held out");
            Assert.Empty(train.Intersect(eval));
            Assert.All(train.Concat(eval), p => Assert.InRange(p.Length, 100, 300));
            Assert.Contains($"general/{source}.train.txt ", prepare.Output);
        }
        // The dictionary text never defines a held-out answer (pre-training would teach it).
        Assert.DoesNotContain(File.ReadLines(dir.File("jsonl/general/wordnet.train.txt")), p => heldOutWords.Any(w => p.Contains(w + " (n.)")));

        var adapt = await CliRunner.RunAsync("http://127.0.0.1:1", null, "adapt", "--model", HubFixtures.Folder("qwen3_moe"), "--steps", "2",
            "--batch-size", "4", "--eval-examples", "4",
            "--data", $"medicine={dir.File("jsonl/medicine.train.jsonl")},{dir.File("jsonl/medicine.validation.jsonl")}");
        Assert.True(adapt.ExitCode == 0, adapt.Error);
        Assert.Contains("to medicine: 2 steps", adapt.Output); // --data alone replaces the default built-in domains

        var twice = await CliRunner.RunAsync("http://127.0.0.1:1", null, "adapt", "--model", HubFixtures.Folder("qwen3_moe"), "--steps", "2",
            "--domains", "math", "--data", $"math={dir.File("jsonl/math.train.jsonl")},{dir.File("jsonl/math.validation.jsonl")}");
        Assert.Equal(1, twice.ExitCode);
        Assert.Equal("error: domain 'math' is named twice (in --domains and --data, or in two --data options)", twice.Error.Trim());

        var tooFew = await CliRunner.RunAsync("http://127.0.0.1:1", null, "data", "prepare", "--dir", fetched, "--out", dir.File("x"), "--held-out", "10");
        Assert.Equal(1, tooFew.ExitCode);
        Assert.Equal("error: --held-out 10 is below the minimum of 50", tooFew.Error.Trim());
    }

    [Fact]
    public async Task Adapt_leaves_out_examples_longer_than_the_context_and_says_how_many()
    {
        using var dir = new TempDirectory();
        var fits = Enumerable.Range(0, 24).Select(i => new Example($"what is {i} + 1", $"{i + 1}")).ToList();
        var tooLong = Enumerable.Range(0, 3).Select(i => new Example($"recite {i}", string.Concat(Enumerable.Range(0, 800).Select(j => (char)('a' + (j * 7 + i) % 26))))).ToList(); // the fixture's context is 256 tokens
        Jsonl.Write(dir.File("train.jsonl"), [.. fits.Take(20), .. tooLong]);
        Jsonl.Write(dir.File("eval.jsonl"), [.. fits.Skip(20), tooLong[0]]);
        Jsonl.Write(dir.File("long.jsonl"), tooLong);

        var adapt = await CliRunner.RunAsync("http://127.0.0.1:1", null, "adapt", "--model", HubFixtures.Folder("qwen3_moe"), "--steps", "2",
            "--batch-size", "4", "--data", $"sums={dir.File("train.jsonl")},{dir.File("eval.jsonl")}");
        Assert.True(adapt.ExitCode == 0, adapt.Error);
        Assert.Contains("--data sums: left out 3 of 23 training examples longer than the model's context of 256 tokens", adapt.Output);
        Assert.Contains("--data sums: left out 1 of 5 held-out examples longer than the model's context of 256 tokens", adapt.Output);

        var none = await CliRunner.RunAsync("http://127.0.0.1:1", null, "adapt", "--model", HubFixtures.Folder("qwen3_moe"), "--steps", "2",
            "--data", $"recital={dir.File("long.jsonl")},{dir.File("eval.jsonl")}");
        Assert.Equal(1, none.ExitCode);
        Assert.Equal("error: --data recital: none of its 3 training examples fits the model's context of 256 tokens", none.Error.Trim());
    }

    /// <summary>
    /// 1,800 Ding nouns, 12 licences of 1,600 words, 1,800 GCIDE medical entries and as many general ones, package
    /// descriptions, WordNet synsets (general words and derived words), and 20
    /// addresses and chapters, where <c>data fetch</c> puts them.
    /// </summary>
    private static void WriteFakeSources(string root)
    {
        string PathOf(string domain) => RealDataSource.All.First(s => s.Domain == domain).DataPath(root);
        Directory.CreateDirectory(Path.GetDirectoryName(PathOf("translation"))!);
        File.WriteAllLines(PathOf("translation"), ["# Version :: test", .. Enumerable.Range(0, 1800).Select(i => $"Wa{Letters(i)} {{n}} :: word{Letters(i)}")]);

        Directory.CreateDirectory(PathOf("law"));
        for (int l = 0; l < 12; l++)
            File.WriteAllText(Path.Combine(PathOf("law"), $"L-{l}.json"),
                JsonSerializer.Serialize(new { licenseText = string.Join(' ', Enumerable.Range(0, 1600).Select(w => $"l{l}w{w}")) }));

        Directory.CreateDirectory(Path.GetDirectoryName(RealDataSource.Gcide.DataPath(root))!);
        var dictionary = new StringBuilder();
        for (int i = 0; i < 1800; i++)
            dictionary.Append($"Term{Letters(i)} \\Term\\, n. (Med.)\n   Definition number {i} of a disease.\n   [1913 Webster]\n\n")
                .Append($"Word{Letters(i)} \\Word\\, n.\n   A general definition, number {i}, of a common word of the language.\n   [1913 Webster]\n\n");
        using (var gzip = new GZipStream(File.Create(RealDataSource.Gcide.DataPath(root)), CompressionLevel.Fastest))
            gzip.Write(Encoding.UTF8.GetBytes(dictionary.ToString()));

        Directory.CreateDirectory(Path.GetDirectoryName(PathOf("summarisation"))!);
        File.WriteAllLines(PathOf("summarisation"), Enumerable.Range(0, 1800).SelectMany(i => new[]
        {
            $"Package: p{i}", "Description-md5: 0", $"Description-en: summary {i}",
            " " + string.Join(' ', Enumerable.Range(0, 35).Select(w => $"p{i}w{w}")), "",
        }));

        var wordNet = PathOf("reverse-dictionary");
        Directory.CreateDirectory(wordNet);
        File.WriteAllLines(Path.Combine(wordNet, "data.noun"), ["  1 licence header", .. Enumerable.Range(0, 1800).Select(i =>
            $"{i:D8} 03 n 01 zq{Letters(i)} 0 000 | definition number {i} of a thing that is described here at some length"),
            .. Enumerable.Range(0, 1800).Select(i => $"{i + 20_000:D8} 07 n 01 zqx{Letters(i)}ness 0 000 | the quality of being zqx{Letters(i)}")]);
        foreach (var pos in new[] { "verb", "adj", "adv" }) File.WriteAllLines(Path.Combine(wordNet, $"data.{pos}"), ["  1 licence header"]);

        foreach (var source in new[] { RealDataSource.Sotu, RealDataSource.MobyDick })
            Directory.CreateDirectory(source.DataPath(root));
        string Text(string document) => string.Join(' ', Enumerable.Range(0, 100).Select(s => $"Sentence {s} of {document} is sixty characters or so long."));
        for (int d = 0; d < 20; d++)
        {
            File.WriteAllText(Path.Combine(RealDataSource.Sotu.DataPath(root), $"{1790 + d}_a_president_n.txt"), Text($"address {d}"));
            File.WriteAllText(Path.Combine(RealDataSource.MobyDick.DataPath(root), $"chapter_{d + 1}.txt"), $"CHAPTER {d + 1}. A title.\n\n{Text($"chapter {d}")}");
        }
        File.WriteAllText(Path.Combine(RealDataSource.MobyDick.DataPath(root), "file_list.json"),
            JsonSerializer.Serialize(Enumerable.Range(1, 20).Select(c => $"chapter_{c}.txt")));
    }

    /// <summary>GCIDE head words are letters only.</summary>
    private static string Letters(int i) => new(i.ToString().Select(c => (char)('a' + c - '0')).ToArray());
}
