using DesMoe.Formats.Data;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Data;

public class JsonlTests
{
    [Fact]
    public void Written_sets_read_back_identically_including_unicode_and_quotes()
    {
        using var dir = new TempDirectory();
        var examples = new List<Example> { new("say \"hi\"", "hi"), new("naïve → café", "ok\nline"), new("sympy: 1 + 'a'", "<x>") };

        Jsonl.Write(dir.File("set.jsonl"), examples);

        Assert.Equal(examples, Jsonl.Read(dir.File("set.jsonl")));
        var lines = File.ReadAllLines(dir.File("set.jsonl"));
        Assert.Equal(3, lines.Length);
        Assert.Contains("naïve → café", lines[1]);   // readable as written, not \u escapes
        Assert.Contains("1 + 'a'", lines[2]);
    }

    [Fact]
    public void Bad_lines_are_reported_with_file_and_line_number()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.jsonl");
        File.WriteAllLines(path,
        [
            """{"prompt": "1+1=", "completion": "2"}""",
            "",
            """{"prompt": "2+2="}""",
            "not json",
            """{"prompt": 5, "completion": "x"}""",
            """["prompt"]""",
            """{"prompt": "", "completion": "x"}""",
        ]);

        var error = Assert.Throws<DataFormatException>(() => Jsonl.Read(path));

        Assert.Contains("5 bad line(s)", error.Message);
        Assert.Contains($"{path}:3: missing \"completion\"", error.Message);
        Assert.Contains($"{path}:4: not valid JSON", error.Message);
        Assert.Contains($"{path}:5: \"prompt\" must be a string", error.Message);
        Assert.Contains($"{path}:6: expected a JSON object", error.Message);
        Assert.Contains($"{path}:7: \"prompt\" is empty", error.Message);
    }

    [Fact]
    public void An_empty_file_is_an_error_not_an_empty_dataset()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("empty.jsonl"), "\n\n");
        Assert.Contains("no examples", Assert.Throws<DataFormatException>(() => Jsonl.Read(dir.File("empty.jsonl"))).Message);
    }

    [Fact]
    public void Generated_sets_are_accepted_where_user_files_are()
    {
        using var dir = new TempDirectory();
        var generated = DatasetSplit.Generate(DomainCatalog.Get("law"), 20, seed: 1);
        Jsonl.Write(dir.File("law.jsonl"), generated);
        Assert.Equal(generated, Jsonl.Read(dir.File("law.jsonl")));
    }
}
