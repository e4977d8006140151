using System.Diagnostics;
using DesMoe.Formats.Chat;
using Xunit;
using Xunit.Abstractions;

namespace DesMoe.Tests.ChatTemplates;

/// <summary>Reading a template from a folder, its failures, its limits and concurrent rendering.</summary>
public sealed class ChatTemplateTests(ITestOutputHelper output) : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("desmoe-chat-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    const string ChatMl = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

    void WriteConfig(string json) => File.WriteAllText(Path.Combine(_folder, "tokenizer_config.json"), json);

    [Fact]
    public void A_folder_without_a_template_has_none()
    {
        Assert.Null(ChatTemplate.FromFolder(_folder));
        WriteConfig("""{"bos_token": "<s>", "eos_token": "</s>"}""");
        Assert.Null(ChatTemplate.FromFolder(_folder));
    }

    [Fact]
    public void A_list_of_templates_uses_the_one_named_default()
    {
        WriteConfig("""
            {"chat_template": [
              {"name": "tool_use", "template": "TOOLS"},
              {"name": "default", "template": "DEFAULT {{ messages[0].content }}"},
              {"name": "rag", "template": "RAG"}]}
            """);
        Assert.Equal("DEFAULT hi", ChatTemplate.FromFolder(_folder)!.Render([new("user", "hi")], false));
    }

    [Fact]
    public void A_list_without_a_default_names_what_it_has()
    {
        WriteConfig("""{"chat_template": [{"name": "tool_use", "template": "T"}]}""");
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.FromFolder(_folder));
        Assert.Contains("tool_use", ex.Message);
        Assert.Contains("default", ex.Message);
    }

    [Fact]
    public void Tokens_saved_as_objects_are_their_content()
    {
        WriteConfig("""
            {"chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}",
             "bos_token": {"__type": "AddedToken", "content": "<B>", "lstrip": false},
             "eos_token": {"content": "<E>"}}
            """);
        Assert.Equal("<B>x<E>", ChatTemplate.FromFolder(_folder)!.Render([new("user", "x")], false));
    }

    [Fact]
    public void Chat_template_jinja_wins_over_the_json_field()
    {
        WriteConfig("""{"chat_template": "FROM JSON", "eos_token": "</s>"}""");
        File.WriteAllText(Path.Combine(_folder, "chat_template.jinja"), "FROM FILE{{ eos_token }}");
        ChatTemplate template = ChatTemplate.FromFolder(_folder)!;
        Assert.Equal("FROM FILE{{ eos_token }}", template.Source);
        Assert.Equal("FROM FILE</s>", template.Render([new("user", "x")], false));
    }

    [Fact]
    public void A_syntax_error_names_the_problem()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% for m in messages %}{{ m.content }"));
        output.WriteLine(ex.Message);
        Assert.StartsWith("Chat template does not parse: ", ex.Message);
        Assert.True(ex.Message.Length > "Chat template does not parse: ".Length, ex.Message);
    }

    [Fact]
    public void An_unclosed_block_is_a_syntax_error()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% if add_generation_prompt %}x"));
        output.WriteLine(ex.Message);
        Assert.StartsWith("Chat template does not parse: ", ex.Message);
    }

    [Fact]
    public void The_templates_own_exception_is_its_message()
    {
        var template = ChatTemplate.Parse("{{ raise_exception('System role not supported') }}");
        Assert.Equal("System role not supported", Assert.Throws<ChatTemplateException>(() => template.Render([], false)).Message);
    }

    [Theory]
    [InlineData("{% for i in range(100000000) %}{{ i }}{% endfor %}")]
    [InlineData("{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}")]
    [InlineData("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")]
    public void A_runaway_template_fails_within_the_limits(string source)
    {
        var template = ChatTemplate.Parse(source);
        var clock = Stopwatch.StartNew();
        var ex = Assert.Throws<ChatTemplateException>(() => template.Render([new("user", "x")], false));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.00} s: {ex.Message}");
        Assert.Contains("limit", ex.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void A_template_renders_again_after_its_time_limit_would_have_passed()
    {
        var template = ChatTemplate.Parse(ChatMl);
        Assert.Equal("<|user|>a\n", template.Render([new("user", "a")], false));
        Thread.Sleep(JinjaTimeout + TimeSpan.FromMilliseconds(200));
        Assert.Equal("<|user|>b\n<|assistant|>", template.Render([new("user", "b")], true));
    }

    static TimeSpan JinjaTimeout => TimeSpan.FromSeconds(2);

    [Fact]
    public void Eight_threads_render_the_same_prompt()
    {
        ChatTemplate template = ChatTemplate.FromFolder(Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-templates", "qwen3_moe"))!;
        ChatMessage[] messages = [new("system", "Be brief."), new("user", "Hi"), new("assistant", "Hello."), new("user", "Bye")];
        string expected = template.Render(messages, true);
        using var start = new Barrier(8);
        var results = new string[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, thread =>
        {
            start.SignalAndWait();
            results[thread] = Enumerable.Range(0, 50).Select(_ => template.Render(messages, true)).ToArray();
        });
        Assert.All(results.SelectMany(r => r), rendered => Assert.Equal(expected, rendered));
    }

    [Fact]
    public void A_render_takes_well_under_a_millisecond()
    {
        ChatTemplate template = ChatTemplate.FromFolder(Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-templates", "qwen3_moe"))!;
        ChatMessage[] messages = [new("system", "Be brief."), new("user", "Hi"), new("assistant", "Hello."), new("user", "Bye")];
        for (int i = 0; i < 200; i++) template.Render(messages, true);
        const int calls = 2000;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) template.Render(messages, true);
        double microseconds = clock.Elapsed.TotalMicroseconds / calls;
        output.WriteLine($"Qwen3 template, 4 messages: {microseconds:0} µs per render");
        Assert.True(microseconds < 5000, $"{microseconds:0} µs per render");
    }
}
