namespace DesMoe.Formats.Chat;

/// <summary>
/// A chat template that does not parse, a render that fails or runs past its limits, or the template's own
/// <c>raise_exception(message)</c>; for the last the message is the template's, unchanged, because it is the one a
/// client must see (e.g. Mixtral's "Conversation roles must alternate ...").
/// </summary>
public sealed class ChatTemplateException(string message) : Exception(message);
