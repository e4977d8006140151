using Jint;
using Jint.Native;
using Jint.Runtime;

namespace DesMoe.Formats.Chat;

/// <summary>
/// One Jint engine holding the library and one parsed template. Not thread-safe: <see cref="ChatTemplate"/> lends
/// each to one render at a time.
/// </summary>
internal sealed class JinjaEngine
{
    readonly Engine _engine;
    readonly JsValue _template;
    readonly JsValue _render;

    /// <summary>
    /// Set once a call hit a limit (time, depth, array size): the interrupted interpreter may have left state behind,
    /// so the engine is not lent again. A template's raise_exception or a JavaScript error leave it usable.
    /// </summary>
    public bool Spent { get; private set; }

    /// <exception cref="ChatTemplateException">the source does not parse (the library's message, e.g. the unexpected token)</exception>
    public JinjaEngine(string source)
    {
        _engine = JinjaLibrary.NewEngine();
        JsValue templateClass = _engine.Evaluate("module.exports.Template");
        _template = Run(() => _engine.Construct(templateClass, source), "does not parse");
        _render = _template.Get("render");
    }

    /// <summary>
    /// Renders as transformers' apply_chat_template would: <c>messages</c>, <c>add_generation_prompt</c> and the
    /// tokens (left undefined when the tokenizer has none, as transformers does).
    /// </summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, string? bosToken, string? eosToken)
    {
        var turns = new JsValue[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            ChatMessage message = messages[i] ?? throw new ArgumentException($"messages[{i}] is null", nameof(messages));
            var turn = new JsObject(_engine);
            turn.Set("role", message.Role ?? throw new ArgumentException($"messages[{i}].Role is null", nameof(messages)));
            turn.Set("content", message.Content ?? throw new ArgumentException($"messages[{i}].Content is null", nameof(messages)));
            turns[i] = turn;
        }
        var items = new JsObject(_engine);
        items.Set("messages", new JsArray(_engine, turns));
        items.Set("add_generation_prompt", addGenerationPrompt);
        if (bosToken != null) items.Set("bos_token", bosToken);
        if (eosToken != null) items.Set("eos_token", eosToken);

        // A JavaScript error while rendering is passed on with its message as is: it is either the template's own
        // raise_exception (the library's built-in throws Error(message); it cannot be overridden per render), which
        // a client must see unchanged, or the library's description of what failed (e.g. "Unknown filter: foo").
        JsValue result = Run(() => _engine.Invoke(_render, _template, [items]), "failed to render", prefixScriptErrors: false);
        return result.IsString() ? result.AsString()
            : throw new ChatTemplateException($"Chat template rendered a {result.Type}, not a string");
    }

    /// <summary>Runs one call under fresh limits (the timeout counts from here) and maps Jint's failures to <see cref="ChatTemplateException"/>.</summary>
    JsValue Run(Func<JsValue> call, string failure, bool prefixScriptErrors = true)
    {
        _engine.Constraints.Reset();
        try { return call(); }
        catch (JavaScriptException ex) { throw new ChatTemplateException(prefixScriptErrors ? $"Chat template {failure}: {ex.Message}" : ex.Message); }
        catch (TimeoutException) { Spent = true; throw new ChatTemplateException($"Chat template {failure}: ran past its {JinjaLibrary.Timeout.TotalSeconds:0.#} s time limit"); }
        catch (RecursionDepthOverflowException) { Spent = true; throw new ChatTemplateException($"Chat template {failure}: nested deeper than the {JinjaLibrary.MaxRecursion}-call limit"); }
        catch (JintException ex) { Spent = true; throw new ChatTemplateException($"Chat template {failure}: ran past a limit: {ex.Message}"); }
    }
}
