using System.IO.Compression;
using System.Text;
using System.Text.Json;
using DesMoe.Core.Data;
using DesMoe.Core.Data.Real;
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
    public async Task Prepare_writes_each_domain_with_500_held_out_and_adapt_takes_the_train_eval_pair()
    {
        using var dir = new TempDirectory();
        var fetched = dir.File("fetched");
        WriteFakeSources(fetched);

        var prepare = await CliRunner.RunAsync("http://127.0.0.1:1", null, "data", "prepare", "--dir", fetched, "--out", dir.File("jsonl"), "--held-out", "500");

        Assert.True(prepare.ExitCode == 0, prepare.Error);
        foreach (var domain in RealDataSource.All.Select(s => s.Domain))
        {
            var train = Jsonl.Read(dir.File($"jsonl/{domain}.train.jsonl"));
            var eval = Jsonl.Read(dir.File($"jsonl/{domain}.eval.jsonl"));
            Assert.Equal(500, eval.Count);
            Assert.Empty(train.Select(e => e.Prompt).Intersect(eval.Select(e => e.Prompt)));
            Assert.Contains($"{domain,-12}", prepare.Output);
        }

        var adapt = await CliRunner.RunAsync("http://127.0.0.1:1", null, "adapt", "--model", HubFixtures.Folder("qwen3_moe"), "--steps", "2",
            "--batch-size", "4", "--eval-examples", "4",
            "--data", $"medicine={dir.File("jsonl/medicine.train.jsonl")},{dir.File("jsonl/medicine.eval.jsonl")}");
        Assert.True(adapt.ExitCode == 0, adapt.Error);
        Assert.Contains("medicine", adapt.Output);

        var tooFew = await CliRunner.RunAsync("http://127.0.0.1:1", null, "data", "prepare", "--dir", fetched, "--out", dir.File("x"), "--held-out", "100");
        Assert.Equal(1, tooFew.ExitCode);
        Assert.Equal("error: --held-out 100 is below the minimum of 500", tooFew.Error.Trim());
    }

    /// <summary>1,800 Ding pairs, 300 licences of 100 words, 1,800 GCIDE medical entries and SymPy doctests, where <c>data fetch</c> puts them.</summary>
    private static void WriteFakeSources(string root)
    {
        string PathOf(string domain) => RealDataSource.All.Single(s => s.Domain == domain).DataPath(root);
        Directory.CreateDirectory(Path.GetDirectoryName(PathOf("translation"))!);
        File.WriteAllLines(PathOf("translation"), ["# Version :: test", .. Enumerable.Range(0, 1800).Select(i => $"Wort{i} {{n}} :: word {i}")]);

        Directory.CreateDirectory(PathOf("law"));
        for (int l = 0; l < 300; l++)
            File.WriteAllText(Path.Combine(PathOf("law"), $"L-{l}.json"),
                JsonSerializer.Serialize(new { licenseText = string.Join(' ', Enumerable.Range(0, 100).Select(w => $"l{l}w{w}")) }));

        Directory.CreateDirectory(Path.GetDirectoryName(PathOf("medicine"))!);
        var dictionary = new StringBuilder();
        for (int i = 0; i < 1800; i++)
            dictionary.Append($"Term{Letters(i)} \\Term\\, n. (Med.)\n   Definition number {i} of a disease.\n   [1913 Webster]\n\n");
        using (var gzip = new GZipStream(File.Create(PathOf("medicine")), CompressionLevel.Fastest))
            gzip.Write(Encoding.UTF8.GetBytes(dictionary.ToString()));

        Directory.CreateDirectory(Path.Combine(PathOf("math"), "core"));
        File.WriteAllLines(Path.Combine(PathOf("math"), "core", "numbers.py"),
            ["def f():", "    \"\"\"", .. Enumerable.Range(0, 1800).SelectMany(i => new[] { $"    >>> {i} + 1", $"    {i + 1}", "" }), "    \"\"\""]);
    }

    /// <summary>GCIDE head words are letters only.</summary>
    private static string Letters(int i) => new(i.ToString().Select(c => (char)('a' + c - '0')).ToArray());
}
