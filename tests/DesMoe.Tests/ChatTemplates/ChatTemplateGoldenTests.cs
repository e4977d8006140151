using System.Text.Json;
using DesMoe.Formats.Chat;
using Xunit;

namespace DesMoe.Tests.ChatTemplates;

/// <summary>
/// The real chat templates of the five families render exactly as @huggingface/jinja renders them under node
/// (tests/fixtures/chat-templates: render.mjs wrote each expected.json; README.md names each template's source).
/// </summary>
public class ChatTemplateGoldenTests
{
    static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-templates");

    /// <summary>The conversations render.mjs renders, by the same names.</summary>
    static readonly Dictionary<string, (ChatMessage[] Messages, bool AddGenerationPrompt)> Conversations = new()
    {
        ["system_user"] = ([new("system", "You are a terse assistant."), new("user", "What is a mixture of experts?")], true),
        ["multi_turn"] = ([new("system", "You are a terse assistant."), new("user", "Name a prime."), new("assistant", "Seven."), new("user", "Another one?")], true),
        ["user_only"] = ([new("user", "Hello!")], false),
        ["alternating"] = ([new("user", "Name a prime."), new("assistant", "Seven."), new("user", "Another one?")], true),
        ["two_users"] = ([new("user", "First."), new("user", "Second.")], true),
    };

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (string family in new[] { "qwen2_moe", "qwen3_moe", "deepseek_v2", "olmoe", "mixtral" })
            foreach (JsonProperty conversation in Expected(family).EnumerateObject())
                cases.Add(family, conversation.Name);
        return cases;
    }

    static JsonElement Expected(string family) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, family, "expected.json"))).RootElement;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renders_as_huggingface_jinja_does(string family, string conversation)
    {
        ChatTemplate template = ChatTemplate.FromFolder(Path.Combine(Root, family))
            ?? throw new InvalidOperationException($"{family} has no chat template");
        var (messages, addGenerationPrompt) = Conversations[conversation];
        JsonElement expected = Expected(family).GetProperty(conversation);

        if (expected.TryGetProperty("error", out JsonElement error))
        {
            var ex = Assert.Throws<ChatTemplateException>(() => template.Render(messages, addGenerationPrompt));
            Assert.Equal(error.GetString(), ex.Message);
        }
        else
        {
            Assert.Equal(expected.GetProperty("text").GetString(), template.Render(messages, addGenerationPrompt));
        }
    }

    [Fact]
    public void Mixtral_refuses_two_user_turns_in_a_row()
    {
        ChatTemplate template = ChatTemplate.FromFolder(Path.Combine(Root, "mixtral"))!;
        var ex = Assert.Throws<ChatTemplateException>(() => template.Render(Conversations["two_users"].Messages, true));
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", ex.Message);
    }

    [Fact]
    public void Qwen2_moe_adds_the_default_system_prompt()
    {
        ChatTemplate template = ChatTemplate.FromFolder(Path.Combine(Root, "qwen2_moe"))!;
        Assert.StartsWith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n", template.Render([new("user", "Hi")], true));
    }
}
