using System.Collections.Concurrent;

namespace DesMoe.Formats.Chat;

/// <summary>
/// A model's chat template, rendered as Hugging Face transformers' <c>apply_chat_template</c> renders it, by
/// @huggingface/jinja (transformers.js's Jinja engine) running in the managed JavaScript interpreter Jint: no Jinja
/// engine for .NET is at hand, and reusing that library keeps the rendering the one the hub's tooling tests.
/// </summary>
/// <remarks>
/// Thread-safe. Jint engines are single-threaded, so renders borrow one from a small pool; each already holds the
/// library and the parsed template, which keeps a render to building the arguments and running the template. Every
/// parse and render runs under <see cref="JinjaLibrary"/>'s limits, so a hostile template fails instead of hanging.
/// </remarks>
public sealed class ChatTemplate
{
    /// <summary>Idle engines kept; more are made under a burst and dropped when they come back to a full pool.</summary>
    static readonly int PoolLimit = Math.Max(2, Environment.ProcessorCount);

    readonly string? _bosToken;
    readonly string? _eosToken;
    readonly ConcurrentBag<JinjaEngine> _idle = [];

    /// <summary>The files of a folder that hold its chat template (<see cref="FromFolder"/>), for copying it along.</summary>
    public static IReadOnlyList<string> FileNames { get; } = [ChatTemplateConfig.TokenizerConfigFile, ChatTemplateConfig.TemplateFile];

    /// <summary>The Jinja source as read.</summary>
    public string Source { get; }

    ChatTemplate(string source, string? bosToken, string? eosToken, JinjaEngine first)
    {
        Source = source;
        _bosToken = bosToken;
        _eosToken = eosToken;
        _idle.Add(first);
    }

    /// <summary>
    /// The template of a hub folder: <c>tokenizer_config.json</c>'s <c>chat_template</c> (a string, or the entry named
    /// "default" of a list), <c>bos_token</c> and <c>eos_token</c> (strings or <c>{"content": ...}</c> objects), and a
    /// <c>chat_template.jinja</c> file if present (transformers 4.43+ writes that; it wins over the json field).
    /// </summary>
    /// <returns>null when the folder has neither template</returns>
    /// <exception cref="ChatTemplateException">a malformed config or a template that does not parse</exception>
    public static ChatTemplate? FromFolder(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"chat template folder {folder} does not exist");
        var (source, bos, eos) = ChatTemplateConfig.Read(folder);
        return source == null ? null : Parse(source, bos, eos);
    }

    /// <summary>Parses <paramref name="source"/> once; renders reuse the parsed form.</summary>
    /// <exception cref="ChatTemplateException">a syntax error, with the library's description of it</exception>
    public static ChatTemplate Parse(string source, string? bosToken = null, string? eosToken = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new ChatTemplate(source, bosToken, eosToken, new JinjaEngine(source));
    }

    /// <summary>The prompt for <paramref name="messages"/>; with <paramref name="addGenerationPrompt"/> it ends where the assistant's reply begins.</summary>
    /// <exception cref="ChatTemplateException">the template's raise_exception (its message as is), a render error, or a limit hit</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        JinjaEngine engine = _idle.TryTake(out var idle) ? idle : new JinjaEngine(Source);
        try
        {
            return engine.Render(messages, addGenerationPrompt, _bosToken, _eosToken);
        }
        finally
        {
            if (!engine.Spent && _idle.Count < PoolLimit)
                _idle.Add(engine);
        }
    }
}
