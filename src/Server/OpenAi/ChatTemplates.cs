using System.Collections.Concurrent;
using DesMoe.Formats.Chat;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;

namespace DesMoe.Server.OpenAi;

/// <summary>
/// The chat template of each served version: the configured one (<see cref="HttpApiOptions.ChatTemplate"/>), else the
/// version's own tokenizer_config.json / chat_template.jinja (its export folder, then its model folder). Parsed once
/// per version; a version without one has none, and the chat route answers 400 saying so.
/// </summary>
public sealed class ChatTemplates(HttpApiOptions http, ModelStore store)
{
    private readonly ConcurrentDictionary<string, ChatTemplate?> _byVersion = new(StringComparer.Ordinal);
    private readonly Lazy<ChatTemplate?> _configured = new(() => Load(http.ChatTemplate));

    public ChatTemplate? For(VersionRecord version) =>
        http.ChatTemplate.Length > 0
            ? _configured.Value
            : _byVersion.GetOrAdd(version.Id, _ => ChatTemplate.FromFolder(store.OnnxFolder(version))
                                                   ?? (store.ModelFolderOf(version) is { } model ? ChatTemplate.FromFolder(model) : null));

    private static ChatTemplate Load(string path)
    {
        if (Directory.Exists(path))
            return ChatTemplate.FromFolder(path) ?? throw new InvalidOperationException($"DesMoe:Http:ChatTemplate: {path} holds no tokenizer_config.json chat_template or chat_template.jinja");
        if (!File.Exists(path)) throw new FileNotFoundException($"DesMoe:Http:ChatTemplate: no file {path}", path);
        if (Path.GetFileName(path) == "tokenizer_config.json")
            return ChatTemplate.FromFolder(Path.GetDirectoryName(Path.GetFullPath(path))!) ?? throw new InvalidOperationException($"DesMoe:Http:ChatTemplate: {path} has no chat_template");
        return ChatTemplate.Parse(File.ReadAllText(path));
    }
}
